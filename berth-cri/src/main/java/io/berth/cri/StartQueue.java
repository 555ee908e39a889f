package io.berth.cri;

import io.berth.core.BerthException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.PriorityQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.DoubleSupplier;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;

/**
 * Admits the CPU-heavy steps of starting pods (CNI ADD, the runtime's create and start) in the order the pods
 * arrived, a few at a time, while the CPUs are saturated.
 *
 * <p>When the kubelet starts a burst of pods, every step of every pod otherwise shares the CPUs equally, so all of
 * them finish at about the time the last one does. Serving the oldest pod's steps first keeps the same total work
 * and the same time for the last pod, and makes the others ready in turn, as they came. It stays work-conserving:
 * a step is admitted beyond the slots whenever a CPU would otherwise idle (no more runnable tasks than CPUs),
 * so steps that wait (a CNI plugin asking its agent, a slow disk) never hold up others, and a slot held longer than
 * the lease stops counting, so a hung step cannot hold the queue. And it steps aside while other work keeps the
 * node busy ({@link OutsideLoad}): there, holding steps back would only hand that work more of the CPUs.
 */
final class StartQueue {
  /** How often the first waiter looks again whether a CPU is idle or other work loads the node. */
  private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(2);

  private final int slots;
  private final long leaseNanos;
  private final int cpus;
  private final IntSupplier runnableTasks;
  private final DoubleSupplier outsideCpus;
  private final LongSupplier clock;
  private final Admissions admissions;

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final PriorityQueue<Waiter> waiting = new PriorityQueue<>(
      Comparator.comparingLong(Waiter::ticket).thenComparingLong(Waiter::seq));
  private final List<Slot> counted = new ArrayList<>();
  private long seq;

  /**
   * {@code slots} steps at a time while the CPUs are busy (0: no queue, every step goes at once); {@code cpus} and
   * {@code runnableTasks} (the node's runnable tasks, negative when unknown) tell when a CPU is idle;
   * {@code outsideCpus} how many CPUs other work uses (see {@link OutsideLoad}; negative when unknown); {@code admissions}
   * is told of each admitted step (only when the queue is on).
   */
  StartQueue(int slots, long leaseNanos, int cpus, IntSupplier runnableTasks, DoubleSupplier outsideCpus,
      LongSupplier clock, Admissions admissions) {
    this.slots = slots;
    this.leaseNanos = leaseNanos;
    this.cpus = cpus;
    this.runnableTasks = runnableTasks;
    this.outsideCpus = outsideCpus;
    this.clock = clock;
    this.admissions = admissions;
  }

  /**
   * For berthd: {@code slots} (negative: berthd's CPUs + 1, the value measured best), a lease of half a second,
   * berthd's CPUs, the node's runnable tasks from /proc/loadavg (where berthd may use fewer CPUs than the node has,
   * the queue holds steps back a little more often, never less), and the load of the node's other cgroups.
   */
  static StartQueue forNode(int slots, Admissions admissions) {
    int cpus = Runtime.getRuntime().availableProcessors();
    DoubleSupplier outside = slots == 0 ? () -> -1 : OutsideLoad.forNode().<DoubleSupplier>map(o -> o::cpus)
        .orElse(() -> -1);
    return new StartQueue(slots < 0 ? cpus + 1 : slots, TimeUnit.MILLISECONDS.toNanos(500), cpus,
        StartQueue::runnableTasks, outside, System::nanoTime, admissions);
  }

  /** Whether steps can wait at all; with the queue off there is no wait to time or show. */
  boolean on() {
    return slots > 0;
  }

  /** Why a step was let go. */
  enum Admission {
    /** Fewer steps than slots were running. */
    FREE_SLOT,
    /** Beyond the slots: a CPU would have idled. */
    IDLE_CPU,
    /** Beyond the slots: other work keeps the node busy, so the queue stepped aside. */
    OUTSIDE_LOAD;

    /** As a metric label. */
    String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** Told of each admitted step: why it went, and how long it waited first (ns). */
  @FunctionalInterface
  interface Admissions {
    void admitted(Admission how, long waitedNanos);
  }

  /** A step admitted; closing it frees its slot. */
  final class Slot implements AutoCloseable {
    private final long admittedAt;
    private final long waitedNanos;

    private Slot(long admittedAt, long waitedNanos) {
      this.admittedAt = admittedAt;
      this.waitedNanos = waitedNanos;
    }

    /** How long the step waited to be admitted. */
    long waitedNanos() {
      return waitedNanos;
    }

    @Override
    public void close() {
      lock.lock();
      try {
        if (counted.remove(this)) {
          changed.signalAll();
        }
      } finally {
        lock.unlock();
      }
    }
  }

  private record Waiter(long ticket, long seq) {}

  /**
   * Waits until the step may run: the pods that came before ({@code ticket}: lower is older) go first. Returns at
   * once when the queue is off or not full.
   */
  Slot enter(long ticket) {
    long since = clock.getAsLong();
    if (slots <= 0) {
      return new Slot(since, 0);
    }
    lock.lock();
    try {
      Waiter me = new Waiter(ticket, seq++);
      waiting.add(me);
      try {
        while (true) {
          long now = clock.getAsLong();
          dropExpired(now);
          Admission how = waiting.peek() != me ? null
              : counted.size() < slots ? Admission.FREE_SLOT
              : cpuIdle() ? Admission.IDLE_CPU
              : busyFromOutside() ? Admission.OUTSIDE_LOAD
              : null;
          if (how != null) {
            waiting.poll();
            Slot slot = new Slot(now, now - since);
            counted.add(slot);
            changed.signalAll(); // the next waiter may fit too
            admissions.admitted(how, slot.waitedNanos());
            return slot;
          }
          if (waiting.peek() == me) {
            long untilLeaseEnds = counted.getFirst().admittedAt + leaseNanos - now;
            changed.awaitNanos(Math.max(1, Math.min(POLL_NANOS, untilLeaseEnds)));
          } else {
            changed.await();
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw BerthException.internal(e, "interrupted while waiting to start");
      } finally {
        if (waiting.remove(me)) {
          changed.signalAll(); // left without being admitted: the next one is first now
        }
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * What the queue is doing, for {@code crictl info}: its slots (0: off), the steps counted as running and waiting,
   * and the CPUs' worth of other work it last saw (negative: unknown, or the queue is off).
   */
  record State(int slots, int running, int waiting, double outsideCpus) {}

  State state() {
    return new State(slots, running(), waiting(), slots > 0 ? outsideCpus.getAsDouble() : -1);
  }

  /** Steps waiting to be admitted. */
  int waiting() {
    lock.lock();
    try {
      return waiting.size();
    } finally {
      lock.unlock();
    }
  }

  /** Steps admitted and still counted (their lease not over). */
  int running() {
    lock.lock();
    try {
      dropExpired(clock.getAsLong());
      return counted.size();
    } finally {
      lock.unlock();
    }
  }

  private void dropExpired(long now) {
    // Admitted in order, so the oldest are first.
    while (!counted.isEmpty() && now - counted.getFirst().admittedAt >= leaseNanos) {
      counted.removeFirst();
    }
  }

  /**
   * Whether a CPU would idle were the step kept waiting: the asker is one of the runnable tasks and would sleep, so
   * with no more of them than CPUs one would be left idle.
   */
  private boolean cpuIdle() {
    int running = runnableTasks.getAsInt();
    return running >= 0 && running <= cpus;
  }

  /**
   * Whether other work keeps at least a quarter of the CPUs (and half a CPU) busy. Holding steps back then only
   * hands that work a larger share of the node, so the queue lets every step go. The bar sits above what the
   * runtime's init of containers being started adds to the pods' cgroups (up to ~15 ms of CPU a pod: about 0.3 CPU
   * in a burst of 10 on 2 CPUs).
   */
  private boolean busyFromOutside() {
    return outsideCpus.getAsDouble() >= Math.max(0.5, cpus * 0.25);
  }

  /** The node's runnable tasks, the fourth field of /proc/loadavg ("1/123": running/all), or -1. */
  static int runnableTasks() {
    try {
      return parseRunnable(Files.readString(LOADAVG));
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  private static final Path LOADAVG = Path.of("/proc/loadavg");

  static int parseRunnable(String loadavg) {
    String[] fields = loadavg.trim().split("\\s+");
    if (fields.length < 4 || fields[3].indexOf('/') < 0) {
      return -1;
    }
    return Integer.parseInt(fields[3].substring(0, fields[3].indexOf('/')));
  }
}
