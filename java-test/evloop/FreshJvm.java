package evloop;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A child JVM on the test classpath, started under {@code ulimit -n}: resource exhaustion is
 * tested in a process that has not already loaded every class, as a user's server would be.
 */
public final class FreshJvm implements AutoCloseable {
    public final Process process;
    public final BufferedReader out;
    private final Path err;

    private FreshJvm(Process process, Path err) {
        this.process = process;
        this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        this.err = err;
    }

    /** Starts {@code mainClass args...} with at most {@code maxFds} open files. */
    public static FreshJvm start(int maxFds, String mainClass, String... args) throws IOException {
        return startIn(null, classpath(), maxFds, List.of(), mainClass, args);
    }

    /** Starts {@code mainClass args...} with at most {@code maxFds} open files and extra JVM options. */
    public static FreshJvm start(int maxFds, List<String> jvmOptions, String mainClass, String... args) throws IOException {
        return startIn(null, classpath(), maxFds, jvmOptions, mainClass, args);
    }

    /** The test classpath, whose entries the child JVM gets. */
    public static String classpath() {
        return System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    }

    /** The test classpath without the entries whose path contains {@code fragment}, say a library's directory in the local repository. */
    public static String classpathWithout(String fragment) {
        return java.util.Arrays.stream(classpath().split(File.pathSeparator))
            .filter(e -> !e.contains(fragment))
            .collect(java.util.stream.Collectors.joining(File.pathSeparator));
    }

    /** Starts {@code mainClass args...} on classpath {@code cp}, with at most {@code maxFds} open files. */
    public static FreshJvm startOn(String cp, int maxFds, String mainClass, String... args) throws IOException {
        return startIn(null, cp, maxFds, List.of(), mainClass, args);
    }

    /** As {@link #startIn(Path, String, int, List, String, String...)}, with no extra JVM options. */
    public static FreshJvm startIn(Path dir, String cp, int maxFds, String mainClass, String... args) throws IOException {
        return startIn(dir, cp, maxFds, List.of(), mainClass, args);
    }

    /**
     * Starts {@code mainClass args...} in directory {@code dir} (null: this one) on classpath
     * {@code cp}, with at most {@code maxFds} open files and extra JVM options: a child that
     * writes files where it runs (.nrepl-port) writes them there.
     */
    public static FreshJvm startIn(Path dir, String cp, int maxFds, List<String> jvmOptions, String mainClass,
            String... args) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of("bash", "-c", "ulimit -n " + maxFds + " && exec \"$@\"", "child",
            java, "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC"));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", cp, mainClass));
        cmd.addAll(List.of(args));
        Path err = Files.createTempFile("evloop-child", ".err");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(err.toFile());
        if (dir != null) {
            pb.directory(dir.toFile());
        }
        Process p = pb.start();
        return new FreshJvm(p, err);
    }

    public String stderr() throws IOException {
        return Files.readString(err);
    }

    /** CPU time (user + system) the child has used, in clock ticks (1/100 s on Linux). */
    public long cpuTicks() throws IOException {
        String stat = Files.readString(Path.of("/proc/" + process.pid() + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }

    /** Open fds of the child. */
    public int openFds() {
        String[] names = new File("/proc/" + process.pid() + "/fd").list();
        return names == null ? -1 : names.length;
    }

    @Override
    public void close() throws IOException {
        process.destroyForcibly();
        try {
            process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Files.deleteIfExists(err);
    }
}
