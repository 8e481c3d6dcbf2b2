package dev.easel.proxy;

import io.javalin.http.Context;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;

/**
 * Notices a client that closes its connection while its edit waits for a provider job (BFL: submit, then poll for
 * seconds or minutes), and interrupts the handler so the job runner stops polling ({@code client_closed}) instead of
 * polling on for nobody until the deadline.
 *
 * <p>Why this is hand-written: Jetty notices a closed connection only when it reads or writes, and while a handler
 * waits it does neither (measured: no failure listener and no connection event until the response is written). So the
 * watch asks the connection's endpoint to say when it becomes readable, which a closed connection is: the 1-byte read
 * that follows returns end-of-stream. Only on an HTTP/1.1 connection (on HTTP/2 the endpoint is shared by streams).
 * Two consequences, both bounded to watched requests: a read byte of a pipelined next request cannot be given back,
 * and the endpoint's read interest cannot be withdrawn, so such a response is sent with {@code Connection: close}
 * (the client opens a new connection for its next edit; next to a job of seconds, that costs nothing).
 */
final class ClientWatch implements AutoCloseable {

    /** A watch that watches nothing (a request that runs no job, a connection that is not HTTP/1.1). */
    static final ClientWatch NONE = new ClientWatch(null, null, null);

    private final Context ctx;
    private final EndPoint endPoint;
    private final Thread handler;
    private boolean fired;
    private boolean consumed;
    private boolean done;
    private boolean gone;

    private ClientWatch(Context ctx, EndPoint endPoint, Thread handler) {
        this.ctx = ctx;
        this.endPoint = endPoint;
        this.handler = handler;
    }

    /** Starts watching the connection of {@code ctx}, whose request body has been read whole. */
    static ClientWatch arm(Context ctx) {
        ServletContextRequest request = ServletContextRequest.getServletContextRequest(ctx.req());
        if (request == null || request.getConnectionMetaData().getHttpVersion() != HttpVersion.HTTP_1_1) {
            return NONE;
        }
        EndPoint endPoint = request.getConnectionMetaData().getConnection().getEndPoint();
        ClientWatch watch = new ClientWatch(ctx, endPoint, Thread.currentThread());
        if (!endPoint.tryFillInterested(Callback.from(watch::readable, failure -> { }))) {
            return NONE; // someone reads already (cannot happen for a request read whole): nothing to watch
        }
        return watch;
    }

    /** The connection has something to read, or has ended. */
    private void readable() {
        synchronized (this) {
            if (done) {
                return; // the response is being written; the connection closes after it
            }
            fired = true;
            ByteBuffer one = BufferUtil.allocate(1);
            int n;
            try {
                n = endPoint.fill(one);
            } catch (IOException e) {
                n = -1; // a reset: gone as well
            }
            if (n > 0) {
                consumed = true; // a pipelined request's first byte: this connection must close after the answer
                return;
            }
            if (n < 0) {
                gone = true;
                handler.interrupt();
            } else {
                fired = !endPoint.tryFillInterested(Callback.from(this::readable, failure -> { })); // spurious: again
            }
        }
    }

    /** Whether the client closed its connection while the edit ran. */
    synchronized boolean clientGone() {
        return gone;
    }

    /**
     * Stops watching, before the response is written: clears an interrupt the watch delivered, and asks for the
     * connection to close after the response when the watch still holds its read interest or read a byte.
     */
    @Override
    public void close() {
        if (ctx == null) {
            return;
        }
        synchronized (this) {
            done = true;
            if (gone) {
                Thread.interrupted();
            }
            if ((!fired || consumed) && !ctx.res().isCommitted()) {
                ctx.header("Connection", "close");
            }
        }
    }
}
