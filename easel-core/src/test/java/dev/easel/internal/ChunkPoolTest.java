package dev.easel.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ChunkPoolTest {

    private static final byte[] BODY = new byte[3 * ByteChunks.MAX_CHUNK + 10];

    private static Set<byte[]> chunksOf(ByteChunks c) {
        Set<byte[]> s = Collections.newSetFromMap(new IdentityHashMap<>());
        for (int i = 0; i < c.count(); i++) {
            s.add(c.chunk(i));
        }
        return s;
    }

    private static ByteChunks readAll(long announced) throws Exception {
        ByteChunks c = ByteChunks.reading(new ByteArrayInputStream(BODY), announced);
        while (c.pull()) {
            // all of it
        }
        return c;
    }

    @Test
    void chunksTakenInAnArena_goBackWhenItCloses_andAreHandedOutAgain_showingOnlyTheirNewBytes() throws Exception {
        byte[] first = new byte[BODY.length];
        java.util.Arrays.fill(first, (byte) 0x11);
        try (ChunkPool.Arena a = ChunkPool.open()) {
            ByteChunks c = ByteChunks.reading(new ByteArrayInputStream(first), first.length);
            while (c.pull()) {
                // all of it
            }
            assertThat(c.count()).isEqualTo(4);
            assertThat(chunksOf(c)).hasSize(4);
        }
        long reused = ChunkPool.reused();
        byte[] second = new byte[ByteChunks.MAX_CHUNK + 7]; // shorter: reused arrays keep the first body beyond it
        new java.util.SplittableRandom(3).nextBytes(second);
        try (ChunkPool.Arena a = ChunkPool.open()) {
            ByteChunks c = ByteChunks.reading(new ByteArrayInputStream(second), -1);
            while (c.pull()) {
                // all of it
            }
            assertThat(ChunkPool.reused() - reused).isEqualTo(2);
            assertThat(c.length()).isEqualTo(second.length);
            assertThat(c.copy(0, c.length())).isEqualTo(second);
            assertThat(c.chunkLength(1)).isEqualTo(7);
        }
    }

    @Test
    void withoutAnArena_chunksAreNew_andANestedArenaGivesNothingBackEarly() throws Exception {
        long reused = ChunkPool.reused();
        readAll(BODY.length);
        assertThat(ChunkPool.reused()).isEqualTo(reused);
        try (ChunkPool.Arena outer = ChunkPool.open()) {
            Set<byte[]> held;
            try (ChunkPool.Arena inner = ChunkPool.open()) {
                held = chunksOf(readAll(BODY.length));
            }
            // the inner close gave nothing back: a read now gets other arrays than the ones still held
            int before = ChunkPool.free();
            Set<byte[]> next = chunksOf(readAll(BODY.length));
            next.retainAll(held);
            assertThat(next).isEmpty();
            assertThat(ChunkPool.free()).isLessThanOrEqualTo(before);
        }
    }
}
