package io.berth.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TableTest {

    @Test
    void render_alignsColumnsThreeSpacesApart() {
        String out = new Table("IMAGE", "TAG", "SIZE").row("docker.io/library/busybox", "latest", "2.2MB")
                .row("a", "b", "c").render();
        assertThat(out).isEqualTo("""
                IMAGE                       TAG      SIZE
                docker.io/library/busybox   latest   2.2MB
                a                           b        c
                """);
    }

    @Test
    void render_emptyLastCells_leaveNoTrailingSpace() {
        String out = new Table("A", "B").row("x", "").render();
        assertThat(out.lines()).allMatch(l -> l.equals(l.stripTrailing()));
    }

    @Test
    void render_nullCell_isEmpty() {
        assertThat(new Table("A", "B").row(null, 1).render()).isEqualTo("A   B\n    1\n");
    }

    @Test
    void row_wrongWidth_isRejected() {
        assertThatThrownBy(() -> new Table("A", "B").row("only one")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void size_countsRowsWithoutHeader() {
        assertThat(new Table("A").row("1").row("2").size()).isEqualTo(2);
    }
}
