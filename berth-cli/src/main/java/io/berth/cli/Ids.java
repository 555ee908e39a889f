package io.berth.cli;

import io.berth.cri.api.Container;
import io.berth.cri.api.ListContainersRequest;
import io.berth.cri.api.ListPodSandboxRequest;
import io.berth.cri.api.PodSandbox;
import java.util.List;
import java.util.Optional;

/**
 * Resolves what a user typed to a full container or pod id: a full id as is, else a unique id prefix (as printed in
 * tables), else a unique name. Runtimes differ on prefixes (containerd takes them), so berthctl resolves them itself.
 */
final class Ids {

    private Ids() {
    }

    static String container(CriClient client, String text) {
        return findContainer(client, text).orElse(text);
    }

    static Optional<String> findContainer(CriClient client, String text) {
        if (text.length() == 64) {
            return Optional.of(text);
        }
        List<Container> all = client.runtime().listContainers(ListContainersRequest.getDefaultInstance()).getContainersList();
        return unique(text, all.stream().filter(c -> c.getId().startsWith(text)).map(Container::getId).toList(),
                all.stream().filter(c -> c.getMetadata().getName().equals(text)).map(Container::getId).toList());
    }

    static String pod(CriClient client, String text) {
        return findPod(client, text).orElse(text);
    }

    static Optional<String> findPod(CriClient client, String text) {
        if (text.length() == 64) {
            return Optional.of(text);
        }
        List<PodSandbox> all = client.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList();
        return unique(text, all.stream().filter(p -> p.getId().startsWith(text)).map(PodSandbox::getId).toList(),
                all.stream().filter(p -> p.getMetadata().getName().equals(text)).map(PodSandbox::getId).toList());
    }

    static Optional<String> unique(String text, List<String> byPrefix, List<String> byName) {
        if (text.isEmpty()) {
            return Optional.empty();
        }
        if (byPrefix.size() > 1) {
            throw new CliException("%s is ambiguous: it starts %d ids", text, byPrefix.size());
        }
        if (byPrefix.size() == 1) {
            return Optional.of(byPrefix.getFirst());
        }
        if (byName.size() > 1) {
            throw new CliException("%s is ambiguous: %d have that name; use an id", text, byName.size());
        }
        return byName.stream().findFirst();
    }
}
