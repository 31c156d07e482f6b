package dev.ferrum.driver.sync;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The lock-order checker's machinery (lockdep). Package-private: the public switch is {@link LockOrderChecker}.
 *
 * <p>Per thread, a stack of held locks with their acquisition sites. Globally, a directed graph of lock classes:
 * an edge {@code A -> B} means "a lock of class B was acquired while one of class A was held", with both sites of
 * the first time that happened. Before a blocking acquisition of class {@code B} while {@code A} is held, a new edge
 * {@code A -> B} is only added if no path {@code B ->* A} exists; otherwise the acquisition could deadlock against
 * the recorded order and {@link LockOrderViolation} is thrown instead, before the thread blocks.
 *
 * <p>Invariants: the graph is acyclic (edges are added under {@link #GRAPH} after the reverse-path check); an edge,
 * once present, is never removed; the held stack of a thread lists exactly the locks it acquired through
 * {@link Lock} while the checker was enabled and has not released since.
 */
final class LockDep {

    /**
     * Whether the checker can run at all: {@code -Dferrum.lockdep=true} at JVM start. {@code static final}, so that
     * with the property unset every hook in {@link Lock} is a branch on a constant that the JIT removes.
     */
    static final boolean AVAILABLE = Boolean.getBoolean(LockOrderChecker.PROPERTY);

    /** Runtime switch, only consulted when {@link #AVAILABLE}. */
    private static volatile boolean enabled = AVAILABLE;

    /** How many caller frames a recorded acquisition site keeps. */
    private static final int SITE_FRAMES = 8;

    private static final StackWalker WALKER = StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE);

    /** Frames of these classes (and their nested classes) are the lock implementation, not the acquisition site. */
    private static final Set<Class<?>> INTERNAL = Set.of(Lock.class, SpinLock.class, Mutex.class, Guard.class,
            CondVar.class, LockDep.class, LockBackend.class, SpinLockBackend.class, MutexBackend.class);

    /** Guards the check-then-add of new edges, so that two threads cannot add the two halves of a cycle. */
    private static final Object GRAPH = new Object();

    private static final ThreadLocal<ArrayList<Held>> HELD = ThreadLocal.withInitial(ArrayList::new);

    private LockDep() {
    }

    /** Where a lock was acquired: the thread and the innermost caller frames outside the lock implementation. */
    record Site(String thread, List<String> frames) {

        static Site capture() {
            List<String> frames = WALKER.walk(s -> s
                    .dropWhile(f -> INTERNAL.contains(f.getDeclaringClass().getNestHost()))
                    .limit(SITE_FRAMES)
                    .map(LockDep::format)
                    .toList());
            return new Site(Thread.currentThread().getName(), frames);
        }

        void appendTo(StringBuilder sb, String indent) {
            if (frames.isEmpty()) {
                sb.append(indent).append("<no frames>\n");
            }
            for (String f : frames) {
                sb.append(indent).append("at ").append(f).append('\n');
            }
        }
    }

    /** The first recorded instance of "{@code to} acquired while {@code from} held". */
    record Edge(LockClass from, LockClass to, Site fromSite, Site toSite) {
    }

    private record Held(Lock<?, ?> lock, Site site) {
    }

    static boolean isEnabled() {
        return AVAILABLE && enabled;
    }

    static void setEnabled(boolean on) {
        if (on && !AVAILABLE) {
            throw new IllegalStateException("the lock-order checker cannot be enabled: it is compiled out unless the JVM"
                    + " starts with -D" + LockOrderChecker.PROPERTY + "=true");
        }
        enabled = on;
    }

    /** The creation site of a lock being constructed: the first frame outside the lock implementation. */
    static String creationSite() {
        return WALKER.walk(s -> s
                .dropWhile(f -> INTERNAL.contains(f.getDeclaringClass().getNestHost()) || f.getDeclaringClass() == LockClass.class)
                .findFirst()
                .map(LockDep::format)
                .orElse("<unknown site>"));
    }

    private static String format(StackWalker.StackFrame f) {
        return f.getClassName() + "." + f.getMethodName() + "(" + f.getFileName() + ":" + f.getLineNumber() + ")";
    }

    /**
     * Called before a blocking acquisition of {@code lock}: records the order against every held lock, or throws.
     *
     * @return the acquisition site to hand to {@link #acquired}, or null if the checker is off
     * @throws LockOrderViolation if acquiring {@code lock} now inverts a recorded order
     */
    static Site beforeAcquire(Lock<?, ?> lock) {
        if (!enabled) {
            return null;
        }
        Site site = Site.capture();
        ArrayList<Held> held = HELD.get();
        for (int i = 0; i < held.size(); i++) {
            Held h = held.get(i);
            LockClass from = h.lock().lockClass;
            // Two locks of one class nested: not checked (no self edges), as documented on LockOrderChecker.
            if (from != lock.lockClass) {
                addEdge(from, h.site(), lock.lockClass, site);
            }
        }
        return site;
    }

    /** Called once a blocking acquisition that {@link #beforeAcquire} checked has succeeded. */
    static void acquired(Lock<?, ?> lock, Site site) {
        if (site != null) {
            HELD.get().add(new Held(lock, site));
        }
    }

    /**
     * Called after a successful try-lock. A try-lock cannot block, so it adds no order edge itself (as in the
     * kernel), but locks acquired while it is held are ordered after it.
     */
    static void acquiredTry(Lock<?, ?> lock) {
        if (enabled) {
            HELD.get().add(new Held(lock, Site.capture()));
        }
    }

    /** Called on every release; removes the innermost entry for {@code lock}, if the checker recorded one. */
    static void released(Lock<?, ?> lock) {
        ArrayList<Held> held = HELD.get();
        for (int i = held.size() - 1; i >= 0; i--) {
            if (held.get(i).lock() == lock) {
                held.remove(i);
                return;
            }
        }
    }

    static List<LockClass> heldClasses() {
        return HELD.get().stream().map(h -> h.lock().lockClass).toList();
    }

    private static void addEdge(LockClass from, Site fromSite, LockClass to, Site toSite) {
        if (from.after.containsKey(to)) {
            return; // already recorded, and checked when it was
        }
        synchronized (GRAPH) {
            if (from.after.containsKey(to)) {
                return;
            }
            List<Edge> reverse = findPath(to, from);
            if (reverse != null) {
                throw new LockOrderViolation(from, fromSite, to, toSite, reverse);
            }
            from.after.put(to, new Edge(from, to, fromSite, toSite));
        }
    }

    /** Breadth-first search for a path {@code start ->* target}; returns its edges in order, or null. */
    private static List<Edge> findPath(LockClass start, LockClass target) {
        Map<LockClass, Edge> reachedBy = new HashMap<>();
        ArrayDeque<LockClass> queue = new ArrayDeque<>();
        queue.add(start);
        while (!queue.isEmpty()) {
            LockClass c = queue.poll();
            for (Edge e : c.after.values()) {
                if (e.to() == start || reachedBy.containsKey(e.to())) {
                    continue;
                }
                reachedBy.put(e.to(), e);
                if (e.to() == target) {
                    ArrayList<Edge> path = new ArrayList<>();
                    for (Edge p = e; p != null; p = reachedBy.get(p.from())) {
                        path.addFirst(p);
                    }
                    return path;
                }
                queue.add(e.to());
            }
        }
        return null;
    }
}
