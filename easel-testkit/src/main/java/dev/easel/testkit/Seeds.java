package dev.easel.testkit;

import java.util.SplittableRandom;
import java.util.stream.LongStream;
import java.util.stream.Stream;

/**
 * Seeds for property tests that draw their inputs from a {@link java.util.Random}: a JUnit
 * {@code @MethodSource} of one seed per try, so each try is its own test invocation whose name shows the seed.
 * The series is fixed (derived from the property's name), so a run is repeatable and a failure can be run again
 * alone:
 *
 * <ul>
 *   <li>{@code -Deasel.props.seed=S} runs only seed {@code S} (every property that runs; pick one with
 *       {@code -Dtest=Class#method});</li>
 *   <li>{@code -Deasel.props.tries=N} runs {@code N} seeds per property instead of its default (the first ones are
 *       the default run's, so more tries only add inputs).</li>
 * </ul>
 *
 * <pre>{@code
 * static Stream<Long> seeds() {
 *     return Seeds.of("multipart", 200);
 * }
 *
 * @ParameterizedTest(name = "seed {0}")
 * @MethodSource("seeds")
 * void anyChunking_sameParts(long seed) {
 *     Seeds.check(seed, random -> {
 *         // ... generate from random, check
 *     });
 * }
 * }</pre>
 *
 * <p>{@link #check} names the seed and the command that reruns it in the failure, since build reports show a
 * parameterized test by its index only.
 */
public final class Seeds {

    /** The system property that runs a single seed. */
    public static final String SEED_PROPERTY = "easel.props.seed";

    /** The system property that sets how many seeds each property runs. */
    public static final String TRIES_PROPERTY = "easel.props.tries";

    private Seeds() {
    }

    /**
     * The seeds for the property {@code name}: the one from {@value #SEED_PROPERTY} when set, else the first
     * {@code defaultTries} (or {@value #TRIES_PROPERTY}) of the property's fixed series.
     *
     * @throws IllegalArgumentException when a system property is not a number, or the tries not positive
     */
    public static Stream<Long> of(String name, int defaultTries) {
        String one = System.getProperty(SEED_PROPERTY);
        if (one != null && !one.isBlank()) {
            return Stream.of(parse(SEED_PROPERTY, one));
        }
        String tries = System.getProperty(TRIES_PROPERTY);
        long n = tries == null || tries.isBlank() ? defaultTries : parse(TRIES_PROPERTY, tries);
        if (n < 1) {
            throw new IllegalArgumentException(TRIES_PROPERTY + " must be at least 1 (was " + n + ")");
        }
        // one generator per property, so two properties run with the same count do not share their inputs
        SplittableRandom series = new SplittableRandom(name.hashCode() * 0x9E3779B97F4A7C15L);
        return LongStream.generate(series::nextLong).limit(n).boxed();
    }

    /** A property's check over one try's inputs. */
    @FunctionalInterface
    public interface Check {
        /** Generates the inputs from {@code random} and checks them. */
        void run(java.util.Random random) throws Exception;
    }

    /**
     * Runs {@code check} with a {@link java.util.Random} seeded with {@code seed}; a failure comes back as an
     * {@link AssertionError} whose message names the seed and how to rerun it alone, with the original as cause.
     */
    public static void check(long seed, Check check) {
        try {
            check.run(new java.util.Random(seed));
        } catch (Throwable t) {
            StackTraceElement caller = StackWalker.getInstance().walk(frames -> frames.skip(1).findFirst())
                    .map(StackWalker.StackFrame::toStackTraceElement).orElseThrow();
            String simpleName = caller.getClassName().substring(caller.getClassName().lastIndexOf('.') + 1);
            throw new AssertionError("failed with seed " + seed + " (rerun alone: -Dtest='" + simpleName + "#"
                    + caller.getMethodName() + "' -D" + SEED_PROPERTY + "=" + seed + "): " + t, t);
        }
    }

    private static long parse(String property, String value) {
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(property + " must be a whole number (was '" + value + "')", e);
        }
    }
}
