package io.berth.cli;

import io.berth.cri.api.ImageServiceGrpc;
import io.berth.cri.api.RuntimeServiceGrpc;
import io.berth.cri.api.ext.BerthImagesGrpc;
import io.berth.cri.api.ext.BerthPodsGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import io.grpc.stub.AbstractStub;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A gRPC connection to a CRI endpoint with stubs for CRI and Berth's extensions. Unary calls get the deadline the
 * user chose (or the command's default); streams get it only when the user set one.
 */
final class CriClient implements AutoCloseable {

    private static final int MAX_MESSAGE = 64 * 1024 * 1024;

    private final ManagedChannel channel;
    private final EpollEventLoopGroup group;
    private final Duration timeout;
    private final Optional<Duration> explicitTimeout;

    CriClient(Endpoint endpoint, Optional<Duration> explicitTimeout, Duration defaultTimeout) {
        this.explicitTimeout = explicitTimeout;
        this.timeout = explicitTimeout.orElse(defaultTimeout);
        this.group = new EpollEventLoopGroup(1, new DefaultThreadFactory("berthctl-grpc", true));
        this.channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(endpoint.socket().toString()))
                .channelType(EpollDomainSocketChannel.class)
                .eventLoopGroup(group)
                .usePlaintext()
                .maxInboundMessageSize(MAX_MESSAGE)
                .overrideAuthority("localhost")
                .build();
    }

    Duration timeout() {
        return timeout;
    }

    Optional<Duration> explicitTimeout() {
        return explicitTimeout;
    }

    private <S extends AbstractStub<S>> S withDeadline(S stub) {
        return stub.withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    private <S extends AbstractStub<S>> S withExplicitDeadline(S stub) {
        return explicitTimeout.map(t -> stub.withDeadlineAfter(t.toNanos(), TimeUnit.NANOSECONDS)).orElse(stub);
    }

    RuntimeServiceGrpc.RuntimeServiceBlockingStub runtime() {
        return withDeadline(RuntimeServiceGrpc.newBlockingStub(channel));
    }

    /** For streams and long calls (events, exec): a deadline only if the user gave --timeout. */
    RuntimeServiceGrpc.RuntimeServiceBlockingStub runtimeStreaming() {
        return withExplicitDeadline(RuntimeServiceGrpc.newBlockingStub(channel));
    }

    ImageServiceGrpc.ImageServiceBlockingStub images() {
        return withDeadline(ImageServiceGrpc.newBlockingStub(channel));
    }

    BerthImagesGrpc.BerthImagesBlockingStub berthImages() {
        return withDeadline(BerthImagesGrpc.newBlockingStub(channel));
    }

    /** No deadline: callers cut streams themselves (pull: on lack of progress; import/export: --timeout if given). */
    BerthImagesGrpc.BerthImagesBlockingStub berthImagesStreaming() {
        return withExplicitDeadline(BerthImagesGrpc.newBlockingStub(channel));
    }

    BerthImagesGrpc.BerthImagesStub berthImagesAsync() {
        return withExplicitDeadline(BerthImagesGrpc.newStub(channel));
    }

    BerthPodsGrpc.BerthPodsBlockingStub berthPods() {
        return withDeadline(BerthPodsGrpc.newBlockingStub(channel));
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
}
