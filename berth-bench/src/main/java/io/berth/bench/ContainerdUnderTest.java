package io.berth.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Debian's containerd 1.6 with the CRI plugin, on its own root, state and socket, configured to be comparable with
 * berthd: the same CNI conflist, the same local registry (plain HTTP through a certs.d {@code hosts.toml}), overlayfs,
 * runc with cgroupfs, and a catatonit pause image from the local registry.
 *
 * <p>{@code restrict_oom_score_adj = true}: containerd gives the sandbox container oom_score_adj -998, which runc
 * cannot set here (root lacks CAP_SYS_RESOURCE, so it may not lower its own value) and dies with "can't get final
 * child's PID from pipe: EOF". With the restriction containerd clamps the value to its own, and pods start. Everything
 * else is containerd's default (notably {@code max_concurrent_downloads = 3}).
 */
final class ContainerdUnderTest extends DaemonRuntime {

    static final String BINARY = "/usr/bin/containerd";

    @Override
    public String name() {
        return "containerd";
    }

    @Override
    Path socket(Path dir) {
        return dir.resolve("containerd.sock");
    }

    @Override
    public Path contentDir() {
        return privateDir().resolve("root");
    }

    @Override
    List<String> command(BenchEnvironment env, Path dir) throws IOException {
        String host = env.registry().host();
        Path certs = dir.resolve("certs.d");
        Files.createDirectories(certs.resolve(host));
        Files.writeString(certs.resolve(host).resolve("hosts.toml"), """
                server = "%s"

                [host."%s"]
                  capabilities = ["pull", "resolve"]
                  skip_verify = true
                """.formatted(env.registry().url(), env.registry().url()));
        Path config = dir.resolve("config.toml");
        Files.writeString(config, """
                version = 2
                root = "%1$s/root"
                state = "%1$s/state"
                oom_score = 0

                [grpc]
                  address = "%2$s"

                [debug]
                  level = "warn"

                [plugins]
                  [plugins."io.containerd.internal.v1.opt"]
                    path = "%1$s/opt"
                  [plugins."io.containerd.grpc.v1.cri"]
                    sandbox_image = "%3$s"
                    restrict_oom_score_adj = true
                    stream_server_address = "127.0.0.1"
                    stream_server_port = "0"
                    enable_selinux = false
                    [plugins."io.containerd.grpc.v1.cri".containerd]
                      snapshotter = "overlayfs"
                      default_runtime_name = "runc"
                      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
                        runtime_type = "io.containerd.runc.v2"
                        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
                          BinaryName = "/usr/sbin/runc"
                          Root = "%1$s/state/runc"
                          SystemdCgroup = false
                    [plugins."io.containerd.grpc.v1.cri".cni]
                      bin_dir = "%4$s"
                      conf_dir = "%5$s"
                      max_conf_num = 1
                    [plugins."io.containerd.grpc.v1.cri".registry]
                      config_path = "%6$s"
                """.formatted(dir, socket(dir), env.pauseImage(), env.cniBinDir(), env.cniConfDir(), certs));
        return List.of(BINARY, "--config", config.toString());
    }
}
