/**
 * Pod networking for Berth: network namespaces pinned by bind mounts under the state dir, and CNI (conflist
 * loading, plugin execution for ADD/CHECK/DEL with chained {@code prevResult}, capability arguments, a result
 * cache that makes DEL work after a restart). {@link io.berth.network.PodNetwork} is the entry point; everything
 * else is package-private. Depends on berth-core and berth-linux (the only place syscalls are made) and never on
 * the CRI, runtime or daemon modules.
 */
package io.berth.network;
