/**
 * CPU time the processes of a local stack spend, read from /proc (Linux): the `npm start`
 * process (HTTP adapter, handlers, stream poller and processor, fauxqs) and its children
 * (DynamoDB Local, OpenSearch). On a machine shared with other work, wall-clock rates say how
 * busy the machine was; CPU milliseconds per operation say what an operation costs, and how many
 * a dedicated core could serve.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Linux's USER_HZ: /proc reports CPU time in 1/100 s on every architecture Node runs on. */
const TICKS_PER_SECOND = 100;

export interface StackProcess {
  readonly name: 'stack' | 'dynamodb-local' | 'opensearch' | 'other';
  readonly pid: number;
}

/** The stack's process and its direct children, named by what they run. */
export function stackProcesses(stackPid: number): StackProcess[] {
  const children = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      const stat = procStat(Number(entry));
      return stat && stat.ppid === stackPid ? [Number(entry)] : [];
    });
  return [{ name: 'stack', pid: stackPid }, ...children.map((pid) => ({ name: childName(pid), pid }))];
}

/** Starts counting; the returned function gives the CPU milliseconds each named process spent since. */
export function cpuMeter(processes: readonly StackProcess[]): () => Record<string, number> {
  const before = processes.map((process) => cpuMs(process.pid));
  const ownBefore = process.cpuUsage();
  return () => {
    const spent: Record<string, number> = {};
    processes.forEach((stackProcess, i) => {
      spent[stackProcess.name] = (spent[stackProcess.name] ?? 0) + (cpuMs(stackProcess.pid) - before[i]!);
    });
    const own = process.cpuUsage(ownBefore);
    spent['load client'] = (own.user + own.system) / 1000;
    return spent;
  };
}

function cpuMs(pid: number): number {
  const stat = procStat(pid);
  return stat ? ((stat.utime + stat.stime) * 1000) / TICKS_PER_SECOND : 0;
}

function procStat(pid: number): { ppid: number; utime: number; stime: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: fields count from its end.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(fields[1]), utime: Number(fields[11]), stime: Number(fields[12]) };
}

function childName(pid: number): StackProcess['name'] {
  let command = '';
  try {
    command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return 'other';
  }
  return command.includes('DynamoDBLocal') ? 'dynamodb-local' : /opensearch/i.test(command) ? 'opensearch' : 'other';
}
