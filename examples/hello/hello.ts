/**
 * Hello, Agora: the DESIGN §6 shape on the busybox test image. Three provider agents start in this
 * process (local(), the embedded network) on the local Docker engine; each task greets in a
 * container and the worker reads the greeting back.
 *
 *   npx tsx examples/hello/hello.ts sha256:<hash of images/busybox>   (agora image build images/busybox)
 */
import { docker, Executor, local, logSummary, Task, type Worker } from "../../src/index.js";

const imageHash = process.argv[2] ?? process.env.AGORA_HELLO_IMAGE;
if (!imageHash) {
  process.stderr.write("usage: hello.ts sha256:<image hash> (build it: agora image build images/busybox)\n");
  process.exit(2);
}

const pkg = docker.repo({ imageHash, minMemGib: 0.5, minStorageGib: 1 });

const worker: Worker<string, string> = async function* (ctx, tasks) {
  ctx.sendBytes("/golem/resource/greeting", "Hello"); // once per provider: goes with the first batch
  for await (const task of tasks) {
    ctx.sendJson("/golem/work/params.json", { name: task.data });
    ctx.run(`echo "$(cat /golem/resource/greeting), ${task.data}, from $(hostname)" > /golem/output/out.txt`);
    ctx.downloadBytes("/golem/output/out.txt");
    const results = yield ctx.commit({ timeout: 30_000 });
    const text = Buffer.from(results.at(-1)?.bytes ?? [])
      .toString("utf8")
      .trim();
    if (text.startsWith("Hello")) task.acceptResult(text);
    else task.rejectResult(`unexpected output: ${text}`, { retry: true });
  }
};

await using executor = new Executor({
  package: pkg,
  maxWorkers: 3,
  budget: "1.0",
  timeout: 120_000,
  subnetTag: "hello",
  eventConsumer: logSummary(),
  network: local({ providers: 3 }),
});
const names = ["Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara"];
for await (const task of executor.submit(
  worker,
  names.map((n) => new Task<string, string>(n)),
)) {
  process.stdout.write(
    `${task.data}: ${task.status} ${task.result ?? task.reason?.message} (${task.runningTime} ms)\n`,
  );
}
