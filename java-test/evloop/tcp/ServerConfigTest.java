package evloop.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class ServerConfigTest {
    private static void rejected(String message, Executable setter) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, setter);
        assertEquals(message, e.getMessage());
    }

    @Test
    void everyBadValueIsRefusedWhereItIsSetWithOneMessageThatNamesIt() {
        ServerConfig c = new ServerConfig();
        rejected("acceptBatch must be at least 1, got 0", () -> c.acceptBatch(0));
        rejected("port must be between 0 and 65535, got 65536", () -> c.port(65536));
        rejected("port must be between 0 and 65535, got -1", () -> c.port(-1));
        rejected("loops must be between 1 and 1024, got 0", () -> c.loops(0));
        rejected("backlog must be at least 1, got 0", () -> c.backlog(0));
        rejected("maxClients must be at least 1, got 0", () -> c.maxClients(0));
        rejected("maxLineLength must be between 1 and 67108864 (64 MiB), got 0", () -> c.maxLineLength(0));
        rejected("watermarks must be 0 <= low <= high, got 10, 5", () -> c.watermarks(10, 5));
        rejected("closeTimeout must be a duration from zero to 100 years, got PT-1S", () -> c.closeTimeout(Duration.ofSeconds(-1)));
        rejected("idleTimeout must be a duration from zero to 100 years, got PT960000H",
            () -> c.idleTimeout(Duration.ofDays(40000)));
        rejected("acceptRetry must be a duration above zero, at most 100 years, got PT0S", () -> c.acceptRetry(Duration.ZERO));
        rejected("host must be an address or host name, got  ", () -> c.host(" "));
    }
}
