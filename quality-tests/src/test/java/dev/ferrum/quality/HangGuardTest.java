package dev.ferrum.quality;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The build's hang guard for JUnit: the root pom gives every test a default timeout (ferrum.test.timeout), so a
 * deadlocked test fails instead of stalling CI. Seen from inside a test, as JUnit sees it.
 */
class HangGuardTest {
    private static final String KEY = "junit.jupiter.execution.timeout.default";
    private static final Pattern DURATION = Pattern.compile("([1-9]\\d*) ?(ns|μs|ms|s|m|h|d)", Pattern.CASE_INSENSITIVE);
    private static final Map<String, ChronoUnit> UNITS = Map.of("ns", ChronoUnit.NANOS, "μs", ChronoUnit.MICROS,
            "ms", ChronoUnit.MILLIS, "s", ChronoUnit.SECONDS, "m", ChronoUnit.MINUTES, "h", ChronoUnit.HOURS,
            "d", ChronoUnit.DAYS);

    private static String configured;

    @RegisterExtension
    static final BeforeEachCallback READ = context -> configured = context.getConfigurationParameter(KEY).orElse(null);

    @Test
    void everyTestRunsUnderADefaultTimeoutThatLeavesRoomForTheLongestTest() {
        assertNotNull(configured, KEY + " is not set: a hung test would stall the build (root pom, surefire "
                + "configurationParameters)");
        Matcher m = DURATION.matcher(configured.strip());
        assertTrue(m.matches(), KEY + " = '" + configured + "' is not a JUnit duration");
        Duration d = Duration.of(Long.parseLong(m.group(1)), UNITS.get(m.group(2).toLowerCase()));
        assertTrue(d.compareTo(Duration.ofMinutes(1)) >= 0, KEY + " = " + configured
                + " would cut short tests that take tens of seconds on a loaded machine (StressTest, fuzz corpora)");
    }
}
