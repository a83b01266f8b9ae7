/** BackgroundTasks (src/background.ts): work handed off the response path, drained on shutdown. */
import { describe, expect, test } from "vitest";
import { BackgroundTasks } from "../src/background.ts";

const later = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

describe("background tasks", () => {
  test("are tracked until they settle", async () => {
    const tasks = new BackgroundTasks();
    tasks.add(later(20, "a"));
    tasks.add(later(40, "b"));
    expect(tasks.size).toBe(2);
    await later(60, undefined);
    expect(tasks.size).toBe(0);
  });

  test("drain waits for every task in flight, and for tasks added while draining", async () => {
    const tasks = new BackgroundTasks();
    const done: string[] = [];
    tasks.add(later(20, "a").then((v) => done.push(v)));
    tasks.add(
      later(10, "b").then((v) => {
        done.push(v);
        tasks.add(later(30, "c").then((w) => done.push(w)));
      }),
    );
    expect(await tasks.drain(1000)).toBe(true);
    expect(done.sort()).toEqual(["a", "b", "c"]);
  });

  test("a failing task is reported and never rejects the drain", async () => {
    const failures: unknown[] = [];
    const tasks = new BackgroundTasks((error) => failures.push(error));
    tasks.add(Promise.reject(new Error("boom")));
    expect(await tasks.drain(1000)).toBe(true);
    expect(failures).toEqual([new Error("boom")]);
  });

  test("drain gives up after its bound, saying so", async () => {
    const tasks = new BackgroundTasks();
    tasks.add(new Promise(() => {}));
    const started = Date.now();
    expect(await tasks.drain(50)).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
