/** Drain an Executor's `submit` iterable: the tasks it yielded and, if it threw, the error. */
import type { Task } from "../../../src/index.js";

export async function collect<D, R>(
  it: AsyncIterable<Task<D, R>>,
): Promise<{ tasks: Task<D, R>[]; error?: unknown }> {
  const tasks: Task<D, R>[] = [];
  try {
    for await (const t of it) tasks.push(t);
    return { tasks };
  } catch (error) {
    return { tasks, error };
  }
}
