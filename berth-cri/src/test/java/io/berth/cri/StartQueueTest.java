package io.berth.cri;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.core.BerthException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The queue's rules with real threads, a clock the test moves and a node whose runnable tasks the test sets: 2 CPUs,
 * busy (5 runnable tasks) unless a test says otherwise.
 */
@Timeout(30)
class StartQueueTest {
  private static final long LEASE = TimeUnit.SECONDS.toNanos(10);

  private final AtomicLong clock = new AtomicLong(1_000_000_000L);
  private final AtomicInteger runnable = new AtomicInteger(5);
  private final List<Thread> threads = new ArrayList<>();
  private final List<Long> waits = new CopyOnWriteArrayList<>();
  private final List<StartQueue.Admission> admitted = new CopyOnWriteArrayList<>();
  /** CPUs' worth of the node's other work; unknown unless a test says otherwise. */
  private volatile double outside = -1;

  private StartQueue queue(int slots) {
    return new StartQueue(slots, LEASE, 2, runnable::get, () -> outside, clock::get, (how, waited) -> {
      admitted.add(how);
      waits.add(waited);
    });
  }

  @AfterEach
  void stopThreads() throws InterruptedException {
    for (Thread t : threads) {
      t.interrupt();
      t.join(5_000);
    }
  }

  @Test
  void off_admitsEveryStepAtOnce() {
    StartQueue q = queue(0);
    List<StartQueue.Slot> held = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      held.add(q.enter(i));
    }
    assertThat(held).allSatisfy(s -> assertThat(s.waitedNanos()).isZero());
    assertThat(q.on()).isFalse();
    assertThat(waits).isEmpty(); // no queue, nothing to time
    held.forEach(StartQueue.Slot::close);
  }

  @Test
  void full_stepWaitsUntilASlotIsFreed_andReportsItsWait() throws Exception {
    StartQueue q = queue(2);
    StartQueue.Slot a = q.enter(1);
    StartQueue.Slot b = q.enter(2);
    assertThat(q.running()).isEqualTo(2);

    CompletableFuture<StartQueue.Slot> third = enterInThread(q, 3);
    awaitTrue(() -> q.waiting() == 1);
    Thread.sleep(50);
    assertThat(third).isNotDone();

    clock.addAndGet(TimeUnit.MILLISECONDS.toNanos(7));
    a.close();
    StartQueue.Slot c = third.get(5, TimeUnit.SECONDS);
    assertThat(c.waitedNanos()).isEqualTo(TimeUnit.MILLISECONDS.toNanos(7));
    assertThat(waits).containsExactly(0L, 0L, TimeUnit.MILLISECONDS.toNanos(7));
    assertThat(q.running()).isEqualTo(2);
    b.close();
    c.close();
    assertThat(q.running()).isZero();
  }

  @Test
  void freedSlots_goToTheOldestPodFirst_notToTheFirstToAsk() throws Exception {
    StartQueue q = queue(1);
    StartQueue.Slot holder = q.enter(0);
    List<Long> admitted = new CopyOnWriteArrayList<>();
    // Asked in the order 30, 10, 20: the pods' arrival (their tickets) decides.
    for (long ticket : new long[] {30, 10, 20}) {
      int before = q.waiting();
      enterInThread(q, ticket).thenAccept(slot -> {
        admitted.add(ticket);
        slot.close();
      });
      awaitTrue(() -> q.waiting() == before + 1);
    }
    holder.close();
    awaitTrue(() -> admitted.size() == 3);
    assertThat(admitted).containsExactly(10L, 20L, 30L);
  }

  @Test
  void idleCpu_admitsBeyondTheSlots() throws Exception {
    StartQueue q = queue(1);
    StartQueue.Slot held = q.enter(1);
    runnable.set(2); // the asker and one more on 2 CPUs: one would idle were it kept waiting
    StartQueue.Slot extra = q.enter(2);
    assertThat(q.running()).isEqualTo(2);
    assertThat(admitted).containsExactly(StartQueue.Admission.FREE_SLOT, StartQueue.Admission.IDLE_CPU);
    extra.close();
    held.close();
  }

  @Test
  void cpuBecomingIdle_admitsTheFirstWaiter() throws Exception {
    StartQueue q = queue(1);
    StartQueue.Slot held = q.enter(1);
    CompletableFuture<StartQueue.Slot> waiter = enterInThread(q, 2);
    awaitTrue(() -> q.waiting() == 1);
    Thread.sleep(20);
    assertThat(waiter).isNotDone();
    runnable.set(1);
    waiter.get(5, TimeUnit.SECONDS).close();
    held.close();
  }

  @Test
  void otherWorkLoadingTheNode_makesTheQueueStepAside() throws Exception {
    StartQueue q = queue(1);
    StartQueue.Slot held = q.enter(1);
    outside = 0.4; // below half a CPU: the runtime's own container inits look like this
    CompletableFuture<StartQueue.Slot> waiter = enterInThread(q, 2);
    awaitTrue(() -> q.waiting() == 1);
    Thread.sleep(20);
    assertThat(waiter).isNotDone();

    outside = 1.5; // other cgroups keep most of the 2 CPUs busy: holding back would only hand them more
    StartQueue.Slot beside = waiter.get(5, TimeUnit.SECONDS);
    StartQueue.Slot third = q.enter(3);
    assertThat(q.running()).isEqualTo(3);
    assertThat(admitted).containsExactly(StartQueue.Admission.FREE_SLOT, StartQueue.Admission.OUTSIDE_LOAD,
        StartQueue.Admission.OUTSIDE_LOAD);
    third.close();
    beside.close();
    held.close();
  }

  @Test
  void unknownLoad_keepsToTheSlots() throws Exception {
    StartQueue q = queue(1);
    runnable.set(-1);
    StartQueue.Slot held = q.enter(1);
    CompletableFuture<StartQueue.Slot> waiter = enterInThread(q, 2);
    awaitTrue(() -> q.waiting() == 1);
    Thread.sleep(50);
    assertThat(waiter).isNotDone();
    held.close();
    waiter.get(5, TimeUnit.SECONDS).close();
  }

  @Test
  void stepHeldPastTheLease_stopsCounting_soAHungStepCannotHoldTheQueue() throws Exception {
    StartQueue q = queue(1);
    StartQueue.Slot hung = q.enter(1);
    CompletableFuture<StartQueue.Slot> waiter = enterInThread(q, 2);
    awaitTrue(() -> q.waiting() == 1);
    clock.addAndGet(LEASE);
    StartQueue.Slot next = waiter.get(5, TimeUnit.SECONDS);
    assertThat(q.running()).isEqualTo(1); // the hung one no longer counts
    hung.close(); // late: frees nothing twice
    assertThat(q.running()).isEqualTo(1);
    next.close();
    assertThat(q.running()).isZero();
  }

  @Test
  void interruptedWaiter_leavesTheQueue_andTheNextOneIsServed() throws Exception {
    StartQueue q = queue(1);
    StartQueue.Slot held = q.enter(0);
    List<Throwable> failures = new CopyOnWriteArrayList<>();
    Thread first = thread(() -> {
      try {
        q.enter(1).close();
      } catch (RuntimeException e) {
        failures.add(e);
      }
    });
    awaitTrue(() -> q.waiting() == 1);
    CompletableFuture<StartQueue.Slot> second = enterInThread(q, 2);
    awaitTrue(() -> q.waiting() == 2);

    first.interrupt();
    first.join(5_000);
    assertThat(failures).singleElement().isInstanceOf(BerthException.class);
    assertThat(q.waiting()).isEqualTo(1);
    held.close();
    second.get(5, TimeUnit.SECONDS).close();
    assertThat(q.running()).isZero();
  }

  @Test
  void parseRunnable_readsTheRunningCountOfLoadavg() {
    assertThat(StartQueue.parseRunnable("0.52 0.58 0.59 3/812 412345\n")).isEqualTo(3);
    assertThat(StartQueue.parseRunnable("0.00 0.00 0.00 1/1 1")).isEqualTo(1);
    assertThat(StartQueue.parseRunnable("garbage")).isEqualTo(-1);
    assertThat(StartQueue.parseRunnable("0.1 0.2 0.3 nocount 5")).isEqualTo(-1);
  }

  @Test
  void runnableTasks_ofThisNode_countsAtLeastTheReader() {
    assertThat(StartQueue.runnableTasks()).isGreaterThanOrEqualTo(1);
  }

  @Test
  void interruptedBeforeWaiting_throwsWithoutTakingASlot() {
    StartQueue q = queue(1);
    StartQueue.Slot held = q.enter(0);
    Thread.currentThread().interrupt();
    try {
      assertThatThrownBy(() -> q.enter(1)).isInstanceOf(BerthException.class);
    } finally {
      Thread.interrupted();
    }
    assertThat(q.waiting()).isZero();
    assertThat(q.running()).isEqualTo(1);
    held.close();
  }

  private CompletableFuture<StartQueue.Slot> enterInThread(StartQueue q, long ticket) {
    CompletableFuture<StartQueue.Slot> f = new CompletableFuture<>();
    thread(() -> {
      try {
        f.complete(q.enter(ticket));
      } catch (RuntimeException e) {
        f.completeExceptionally(e);
      }
    });
    return f;
  }

  private Thread thread(Runnable r) {
    Thread t = Thread.ofPlatform().daemon().start(r);
    threads.add(t);
    return t;
  }

  private static void awaitTrue(BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not met in 5 s");
      }
      Thread.sleep(1);
    }
  }
}
