package dev.ferrum.driver.sync;

import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The class of a lock, as lockdep sees it: the unit in which lock order is recorded and checked.
 *
 * <p>Every {@link SpinLock} and {@link Mutex} has exactly one class. By default it is the lock's <em>creation
 * site</em> (the first stack frame outside this package's lock implementation that called the constructor), so all
 * locks created by one line of code share a class, as all locks initialised by one {@code spin_lock_init} call site
 * share a lock class key in the kernel. A class can also be given a name with {@link #named(String)}: every lock
 * created with the same name shares that class (for example {@code "nvme.sq"} for the lock of each submission queue).
 *
 * <p>The {@linkplain LockOrderChecker lock-order checker} records, per class, which classes were acquired while a
 * lock of this class was held, and refuses an acquisition that would close a cycle.
 *
 * <p>Invariants: classes are interned: {@code named(n) == named(n)} for equal names, and two creation sites are the
 * same class exactly when they are the same class, method and line. A class is never freed (there are as few of
 * them as there are lock declarations). Equality is identity. The creation-site and named namespaces are separate: a
 * lock named {@code "Foo.bar(Foo.java:3)"} is not the class of the lock created at that line.
 *
 * <p>Thread safety: all methods may be called from any thread.
 */
public final class LockClass {

    private static final ConcurrentMap<String, LockClass> NAMED = new ConcurrentHashMap<>();
    private static final ConcurrentMap<String, LockClass> SITES = new ConcurrentHashMap<>();

    private final String name;
    private final boolean creationSite;
    /** Lock-order edges out of this class: classes acquired while a lock of this class was held. */
    final ConcurrentMap<LockClass, LockDep.Edge> after = new ConcurrentHashMap<>();

    private LockClass(String name, boolean creationSite) {
        this.name = name;
        this.creationSite = creationSite;
    }

    /**
     * Returns the lock class with this name, creating it on first use.
     *
     * @param name a non-blank name, conventionally dotted ({@code "nvme.sq"}, {@code "agx.event"})
     * @return the one class with that name
     * @throws NullPointerException if {@code name} is null
     * @throws IllegalArgumentException if {@code name} is blank
     */
    public static LockClass named(String name) {
        Objects.requireNonNull(name, "lock class name");
        if (name.isBlank()) {
            throw new IllegalArgumentException("lock class name must not be blank, got \"" + name + "\"");
        }
        return NAMED.computeIfAbsent(name, n -> new LockClass(n, false));
    }

    /** The class of the lock created at the given site; {@code site} is already formatted. */
    static LockClass ofCreationSite(String site) {
        return SITES.computeIfAbsent(site, s -> new LockClass(s, true));
    }

    /** @return the name given to {@link #named(String)}, or the creation site as {@code Class.method(File:line)} */
    public String name() {
        return name;
    }

    /** @return true if this class is a creation site, false if it was {@linkplain #named(String) named} */
    public boolean isCreationSite() {
        return creationSite;
    }

    @Override
    public String toString() {
        return (creationSite ? "lock class created at " : "lock class ") + "'" + name + "'";
    }
}
