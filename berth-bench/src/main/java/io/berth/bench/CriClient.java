package io.berth.bench;

import io.berth.cri.api.ImageServiceGrpc;
import io.berth.cri.api.RuntimeServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * One gRPC channel to a CRI unix socket. The same code talks to containerd and to berthd, so client-side costs are
 * identical for both runtimes under test.
 */
@SuppressWarnings("deprecation") // EpollEventLoopGroup: the event loop grpc-netty-shaded's unix-socket transport still takes
final class CriClient implements AutoCloseable {

    private static final Duration CALL_DEADLINE = Duration.ofMinutes(3);
    private static final Duration PULL_DEADLINE = Duration.ofMinutes(30);

    private final Path socket;
    private final EpollEventLoopGroup group;
    private final ManagedChannel channel;

    CriClient(Path socket) {
        this.socket = socket;
        this.group = new EpollEventLoopGroup(1, new DefaultThreadFactory("bench-cri", true));
        this.channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                .channelType(EpollDomainSocketChannel.class)
                .eventLoopGroup(group)
                .usePlaintext()
                .maxInboundMessageSize(64 * 1024 * 1024)
                .overrideAuthority("localhost")
                .build();
    }

    Path socket() {
        return socket;
    }

    RuntimeServiceGrpc.RuntimeServiceBlockingStub runtime() {
        return RuntimeServiceGrpc.newBlockingStub(channel).withDeadlineAfter(CALL_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
    }

    ImageServiceGrpc.ImageServiceBlockingStub images() {
        return ImageServiceGrpc.newBlockingStub(channel).withDeadlineAfter(CALL_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** For PullImage: a generous deadline, so a slow runtime is measured rather than cut. */
    ImageServiceGrpc.ImageServiceBlockingStub imagesForPull() {
        return ImageServiceGrpc.newBlockingStub(channel).withDeadlineAfter(PULL_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
}
