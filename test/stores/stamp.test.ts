import { describe, expect, test } from "vitest";
import { StampWatch } from "../../src/stores/stamp.ts";

describe("watching a version stamp", () => {
  const setup = (maxAgeMs: number) => {
    let now = 0;
    let value = "v1";
    let reads = 0;
    let release: (() => void) | undefined;
    let slow = false;
    const watch = new StampWatch(
      async () => {
        reads++;
        const seen = value;
        if (slow) await new Promise<void>((r) => (release = r));
        return seen;
      },
      maxAgeMs,
      () => now,
    );
    return {
      watch,
      set: (v: string) => (value = v),
      tick: (ms: number) => (now += ms),
      reads: () => reads,
      slow: (on: boolean) => (slow = on),
      release: () => release?.(),
    };
  };

  test("is read once per max age, then again", async () => {
    const s = setup(1000);
    expect(await s.watch.current()).toBe("v1");
    s.set("v2");
    s.tick(999);
    expect(await s.watch.current()).toBe("v1");
    s.tick(1);
    expect(await s.watch.current()).toBe("v2");
    expect(s.reads()).toBe(2);
  });

  test("max age 0 reads on every call", async () => {
    const s = setup(0);
    await s.watch.current();
    await s.watch.current();
    expect(s.reads()).toBe(2);
  });

  test("concurrent callers never await one another's read (a Workers promise belongs to its request)", async () => {
    const s = setup(1000);
    s.slow(true);
    const first = s.watch.current();
    await new Promise((r) => setTimeout(r, 0));
    s.slow(false);
    // The first read is still in flight: the second caller reads for itself and is not blocked.
    expect(await s.watch.current()).toBe("v1");
    expect(s.reads()).toBe(2);
    s.release();
    expect(await first).toBe("v1");
  });

  test("invalidate() makes the next call read at once, even inside the max age", async () => {
    const s = setup(60_000);
    await s.watch.current();
    s.set("v2");
    s.watch.invalidate();
    expect(await s.watch.current()).toBe("v2");
  });

  test("a read in flight when invalidated is not the one the next caller gets", async () => {
    const s = setup(60_000);
    s.slow(true);
    const before = s.watch.current();
    await new Promise((r) => setTimeout(r, 0));
    s.set("v2");
    s.watch.invalidate();
    s.slow(false);
    const after = await s.watch.current();
    s.release();
    expect(await before).toBe("v1");
    expect(after).toBe("v2");
    expect(await s.watch.current()).toBe("v2");
  });
});
