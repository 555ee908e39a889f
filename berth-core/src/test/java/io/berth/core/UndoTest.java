package io.berth.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class UndoTest {
  @Test
  void close_notCommitted_runsStepsInReverseAndSurvivesFailures() {
    List<String> ran = new ArrayList<>();
    try (var undo = new Undo()) {
      undo.push("a", () -> ran.add("a"));
      undo.push("b", () -> {
        ran.add("b");
        throw new IllegalStateException("boom");
      });
      undo.push("c", () -> ran.add("c"));
    }
    assertThat(ran).containsExactly("c", "b", "a");
  }

  @Test
  void close_committed_runsNothing() {
    List<String> ran = new ArrayList<>();
    try (var undo = new Undo()) {
      undo.push("a", () -> ran.add("a"));
      undo.commit();
    }
    assertThat(ran).isEmpty();
  }
}
