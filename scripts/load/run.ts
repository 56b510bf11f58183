/**
 * One load run: DynamoDB Local's capacity first (when its endpoint is known), then the workload,
 * with the CPU of the server's processes counted when they run on this machine. `npm run load`
 * and the benchmark's `load` part both run it.
 */
import { loadBounds, type LoadReport } from './bounds.js';
import { measureEmulatorCapacity } from './emulator-capacity.js';
import { cpuMeter, type StackProcess } from './process-cpu.js';
import { type PhaseFigures, runWorkload, type WorkloadOptions } from './workload.js';

export interface LoadRunOptions extends Omit<WorkloadOptions, 'cpuMeter'> {
  /** DynamoDB Local behind the server, to measure; absent: no emulator figures. */
  readonly emulatorEndpoint?: string;
  readonly probeSeconds: number;
  /** The server's processes on this machine; absent: no CPU figures. */
  readonly processes?: readonly StackProcess[];
  /** Told of the emulator's figures and of each phase as they come. */
  readonly progress: (figures: object) => void;
}

export async function runLoad(options: LoadRunOptions): Promise<LoadReport> {
  const meter = options.processes && (() => cpuMeter(options.processes!));
  const emulator = options.emulatorEndpoint
    ? await measureEmulatorCapacity({ endpoint: options.emulatorEndpoint, concurrency: options.concurrency, seconds: options.probeSeconds, cpuMeter: meter })
    : undefined;
  if (emulator) {
    options.progress({ emulator });
  }
  const phases: PhaseFigures[] = await runWorkload({ ...options, cpuMeter: meter }, options.progress);
  return { baseUrl: options.baseUrl, phases, emulator, bounds: emulator && loadBounds(emulator) };
}
