package dev.pgembed.jdbc;

import java.net.InetAddress;
import java.net.Socket;
import java.util.Objects;
import javax.net.SocketFactory;

/**
 * The socket factory pgjdbc is given ({@code socketFactory=dev.pgembed.jdbc.InProcessSocketFactory}): its
 * sockets talk to an in-process database instead of a network. The argument
 * ({@code socketFactoryArg}) is the registry key of the database, set by {@link PgEmbedDriver}; connections
 * are meant to be made through the driver, not by configuring pgjdbc with this factory by hand.
 */
public class InProcessSocketFactory extends SocketFactory {
    private final String key;

    /**
     * The factory pgjdbc makes for one connection.
     *
     * @param key the database's registry key (pgjdbc's {@code socketFactoryArg})
     */
    public InProcessSocketFactory(String key) {
        this.key = Objects.requireNonNull(key, "socketFactoryArg");
    }

    @Override
    public Socket createSocket() {
        return new InProcessSocket(key);
    }

    @Override
    public Socket createSocket(String host, int port) {
        return new InProcessSocket(key);
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) {
        return new InProcessSocket(key);
    }

    @Override
    public Socket createSocket(InetAddress host, int port) {
        return new InProcessSocket(key);
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) {
        return new InProcessSocket(key);
    }
}
