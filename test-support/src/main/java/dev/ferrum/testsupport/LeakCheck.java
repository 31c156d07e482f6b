package dev.ferrum.testsupport;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * Fails any test that leaves Ferrum resources behind: live DMA buffers, IOVA mappings (mock IOMMU, VFIO), arenas
 * owned by Ferrum objects (BAR views, device-model memory), and running Ferrum threads (device models, interrupt
 * dispatchers, workers of non-system workqueues).
 *
 * <p>Registered for every test of every module through {@code META-INF/services} and JUnit's extension
 * auto-detection (switched on in the root pom's surefire configuration). Each test method is compared with the
 * state before it ran; resources a class creates in {@code @BeforeAll} must be gone after {@code @AfterAll}.
 *
 * <p>Where the numbers come from. The library keeps one registry of what it holds,
 * {@code dev.ferrum.memory.internal.LiveResources}, fed by the DMA pool, the mock IOMMU, the VFIO address spaces,
 * the PCI layer's BAR views, device models, interrupt dispatchers and workqueues. This module reads it
 * reflectively and depends on no Ferrum module: {@code memory} (the registry's home) and {@code native} run their
 * tests under this check too, and a compile-time dependency would be a cycle. Where the registry is not on the
 * class path ({@code native}), only the thread scan below applies. As a second net, live platform threads named
 * {@code ferrum-*} are checked by name, so a thread the registry does not know about is caught too.
 *
 * <p>Grace period. Releasing can finish a moment after the code that asked for it returns (a worker thread exits
 * after {@code Workqueue.destroy()} saw it retire; a shared arena closes after the last access). A leak is
 * therefore reported only if it is still there {@value #GRACE_MILLIS} ms after the test; passing tests never wait.
 *
 * <p>Whitelist. The four system workqueues ({@code events}, {@code events_highpri}, {@code events_long},
 * {@code events_unbound}) are shared by the whole JVM and cannot be destroyed; their idle workers linger for the
 * workqueue keep-alive (10 s) by design, so their threads are never reported; nor is {@code ferrum-wq-timer}, the
 * one JVM-wide thread that arms every {@code DelayedWork}, started on first use and never stopped.
 *
 * <p>A leak is reported once: by the test method that left it, not again by its class.
 *
 * <p>Invariants: never changes what it observes; reports each leaked resource by its description.
 */
public final class LeakCheck implements BeforeAllCallback, BeforeEachCallback, AfterEachCallback, AfterAllCallback {
    /** How long leaks may take to disappear before they are reported. */
    static final long GRACE_MILLIS = 2000;
    private static final String REGISTRY = "dev.ferrum.memory.internal.LiveResources";
    /** Threads shared by the whole JVM: system workqueue workers and the one delayed-work timer thread. */
    private static final Pattern SHARED_THREAD =
            Pattern.compile("ferrum-wq-events(_highpri|_long|_unbound)?-\\d+|ferrum-wq-timer");
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(LeakCheck.class);
    private static final Method SNAPSHOT = findSnapshot();

    private static Method findSnapshot() {
        try {
            return Class.forName(REGISTRY).getMethod("snapshot");
        } catch (ClassNotFoundException e) {
            return null; // a module below memory: threads only
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException(REGISTRY + " has no snapshot() method", e);
        }
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        context.getStore(NS).put("class", live());
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        context.getStore(NS).put("method", live());
    }

    @Override
    public void afterEach(ExtensionContext context) {
        check(context, "method", "test " + context.getDisplayName());
    }

    @Override
    public void afterAll(ExtensionContext context) {
        check(context, "class", "test class " + context.getDisplayName() + " (@BeforeAll/@AfterAll)");
    }

    @SuppressWarnings("unchecked")
    private static void check(ExtensionContext context, String key, String who) {
        Map<String, String> before = context.getStore(NS).remove(key, Map.class);
        if (before == null) {
            return;
        }
        // Leaks a test method already reported count as known to its class (the class store is the parent's).
        Map<String, String> reported = context.getStore(NS).getOrComputeIfAbsent("reported", k -> new TreeMap<>(),
                Map.class);
        before = new TreeMap<>(before);
        before.putAll(reported);
        Map<String, String> leaked = leakedSince(before);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(GRACE_MILLIS);
        while (!leaked.isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            leaked = leakedSince(before);
        }
        if (!leaked.isEmpty()) {
            if (context.getParent().isPresent()) {
                context.getParent().get().getStore(NS).getOrComputeIfAbsent("reported", k -> new TreeMap<>(),
                        Map.class).putAll(leaked);
            }
            List<String> lines = new ArrayList<>(leaked.values());
            Collections.sort(lines);
            int shown = Math.min(lines.size(), 25);
            throw new AssertionError(who + " leaked " + lines.size() + " Ferrum resource(s), still there "
                    + GRACE_MILLIS + " ms after it ended:\n  " + String.join("\n  ", lines.subList(0, shown))
                    + (shown < lines.size() ? "\n  ... and " + (lines.size() - shown) + " more" : ""));
        }
    }

    private static Map<String, String> leakedSince(Map<String, String> before) {
        Map<String, String> now = live();
        now.keySet().removeAll(before.keySet());
        return now;
    }

    /** Everything Ferrum holds now, by a key that identifies each resource. */
    static Map<String, String> live() {
        Map<String, String> all = new TreeMap<>();
        if (SNAPSHOT != null) {
            try {
                Map<?, ?> registry = (Map<?, ?>) SNAPSHOT.invoke(null);
                registry.forEach((id, what) -> all.put(String.valueOf(id), String.valueOf(what)));
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot read " + REGISTRY, e);
            }
        }
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            String name = t.getName();
            if (name.startsWith("ferrum-") && t.isAlive() && !SHARED_THREAD.matcher(name).matches()) {
                all.putIfAbsent("thread " + t.threadId(), "thread " + name + " (" + t.getState() + ")");
            }
        }
        return all;
    }
}
