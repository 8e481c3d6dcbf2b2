package dev.easel.bench;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A minimal blocking HTTP/1.1 client connection on a raw socket (keep-alive, Content-Length and chunked
 * bodies). No pooling, no parsing beyond framing: the load generator must cost less than what it measures.
 */
final class HttpConn implements AutoCloseable {

    /** Receives the decoded response body as it arrives. */
    interface BodyListener {
        void onBytes(byte[] b, int off, int len);
    }

    /** The outcome of one exchange. */
    record Result(int status, long bodyBytes) {
    }

    /**
     * The longest one exchange may take, writing included ({@code -Dbench.exchangeTimeoutSeconds}, default
     * 60): a blocking socket write has no time-out of its own, so a stalled peer would otherwise hold the
     * run forever. When it strikes, the socket is closed and the exchange fails with
     * {@link ExchangeTimeoutException}, counted as an error of that name.
     */
    static final long EXCHANGE_TIMEOUT_MS = Long.getLong("bench.exchangeTimeoutSeconds", 60) * 1000;

    private static final java.util.concurrent.ScheduledThreadPoolExecutor WATCHDOG;

    static {
        WATCHDOG = new java.util.concurrent.ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "bench-exchange-watchdog");
            t.setDaemon(true);
            return t;
        });
        WATCHDOG.setRemoveOnCancelPolicy(true);
    }

    /** An exchange that did not finish within {@link #EXCHANGE_TIMEOUT_MS}. */
    static final class ExchangeTimeoutException extends IOException {
        ExchangeTimeoutException(long ms, String phase, IOException cause) {
            super("exchange not finished after " + ms + " ms (stuck while " + phase + ")", cause);
        }
    }

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final byte[] buf = new byte[64 * 1024];
    private int pos;
    private int lim;
    private boolean open = true;

    private final long timeoutMs;

    private HttpConn(Socket socket, long timeoutMs) throws IOException {
        this.socket = socket;
        this.timeoutMs = timeoutMs;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    static HttpConn open(int port) throws IOException {
        return open(port, EXCHANGE_TIMEOUT_MS);
    }

    /** A connection whose exchanges each fail after {@code timeoutMs}. */
    static HttpConn open(int port, long timeoutMs) throws IOException {
        Socket s = new Socket();
        try {
            s.setTcpNoDelay(true);
            s.connect(new InetSocketAddress("127.0.0.1", port), 30_000);
            s.setSoTimeout(300_000);
            return new HttpConn(s, timeoutMs);
        } catch (IOException e) {
            s.close();
            throw e;
        }
    }

    boolean isOpen() {
        return open;
    }

    /** Sends {@code head} then {@code body} (may be null) and reads the whole response. */
    Result exchange(byte[] head, byte[] body, BodyListener listener) throws IOException {
        java.util.concurrent.atomic.AtomicBoolean expired = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.ScheduledFuture<?> guard = WATCHDOG.schedule(() -> {
            expired.set(true);
            close();
        }, timeoutMs, java.util.concurrent.TimeUnit.MILLISECONDS);
        boolean sent = false;
        try {
            out.write(head);
            if (body != null) {
                out.write(body);
            }
            out.flush();
            sent = true;
            return readResponse(listener);
        } catch (IOException e) {
            if (expired.get()) {
                throw new ExchangeTimeoutException(timeoutMs, sent ? "reading the response" : "writing the request", e);
            }
            throw e;
        } finally {
            guard.cancel(false);
        }
    }

    private Result readResponse(BodyListener listener) throws IOException {
        String statusLine = readLine();
        if (!statusLine.startsWith("HTTP/1.")) {
            throw new IOException("bad status line '" + statusLine + "'");
        }
        int status = Integer.parseInt(statusLine.substring(9, 12));
        long length = -1;
        boolean chunked = false;
        boolean close = statusLine.startsWith("HTTP/1.0");
        for (String line = readLine(); !line.isEmpty(); line = readLine()) {
            int colon = line.indexOf(':');
            if (colon <= 0) {
                continue;
            }
            String name = line.substring(0, colon).trim();
            String value = line.substring(colon + 1).trim();
            if (name.equalsIgnoreCase("content-length")) {
                length = Long.parseLong(value);
            } else if (name.equalsIgnoreCase("transfer-encoding") && value.toLowerCase().contains("chunked")) {
                chunked = true;
            } else if (name.equalsIgnoreCase("connection") && value.equalsIgnoreCase("close")) {
                close = true;
            }
        }
        long n = 0;
        if (chunked) {
            while (true) {
                String sizeLine = readLine();
                int semi = sizeLine.indexOf(';');
                long size = Long.parseLong((semi < 0 ? sizeLine : sizeLine.substring(0, semi)).trim(), 16);
                if (size == 0) {
                    while (!readLine().isEmpty()) {
                        // trailers
                    }
                    break;
                }
                n += copy(size, listener);
                readLine();
            }
        } else if (length >= 0) {
            n = copy(length, listener);
        } else {
            n = copy(Long.MAX_VALUE, listener);
            close = true;
        }
        if (close) {
            close();
        }
        return new Result(status, n);
    }

    private long copy(long count, BodyListener listener) throws IOException {
        long left = count;
        while (left > 0) {
            if (pos == lim && !fill()) {
                if (count == Long.MAX_VALUE) {
                    return count - left;
                }
                throw new EOFException("response body ended early");
            }
            int k = (int) Math.min(left, lim - pos);
            if (listener != null) {
                listener.onBytes(buf, pos, k);
            }
            pos += k;
            left -= k;
        }
        return count;
    }

    private String readLine() throws IOException {
        StringBuilder sb = null;
        while (true) {
            if (pos == lim && !fill()) {
                throw new EOFException("connection closed while reading a line");
            }
            for (int i = pos; i < lim; i++) {
                if (buf[i] == '\n') {
                    int endEx = i > pos && buf[i - 1] == '\r' ? i - 1 : i;
                    String part = new String(buf, pos, endEx - pos, StandardCharsets.ISO_8859_1);
                    pos = i + 1;
                    if (sb == null) {
                        return part;
                    }
                    sb.append(part);
                    int l = sb.length();
                    if (l > 0 && sb.charAt(l - 1) == '\r') {
                        sb.setLength(l - 1);
                    }
                    return sb.toString();
                }
            }
            if (sb == null) {
                sb = new StringBuilder();
            }
            sb.append(new String(buf, pos, lim - pos, StandardCharsets.ISO_8859_1));
            pos = lim;
        }
    }

    private boolean fill() throws IOException {
        int r = in.read(buf, 0, buf.length);
        if (r <= 0) {
            return false;
        }
        pos = 0;
        lim = r;
        return true;
    }

    @Override
    public void close() {
        open = false;
        try {
            socket.close();
        } catch (IOException ignored) {
            // nothing to free
        }
    }
}
