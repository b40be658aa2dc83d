/**
 * Scheduled plugin jobs on croner, for the sandbox and (vendored) a foundation's adapter. A spec
 * is checked when registered; jobs run only once the scheduler is started (the dev server starts
 * it, a foundation's adapter at its first job; tests call `runAll`).
 *
 * Each tick runs the job once per tenant where its plugin is enabled and its migrations have all
 * run, with that tenant in scope. A job never overlaps itself in a process (croner `protect`); of
 * several processes on one database, the one holding its advisory lock runs its ticks, and each
 * run in a tenant first claims the (job, tenant) for as long as it runs, so two runs there never
 * overlap even when a lock's session is lost (run-locks.ts, run-leases.ts). A job that throws is
 * logged with plugin and tenant, and the other tenants run.
 */
import { Cron } from 'croner';
import type { CronCapability, CronJob } from 'create-foundation-module/contract';
import { createRunLocks, jobLockKey, type JobName, type RunLocks, type RunLocksOptions } from './run-locks.ts';

/** What running jobs needs of the host: the tenants, and which of them have the plugin on. */
export interface CronHost {
  /** The ids of the tenants jobs may run in. */
  listTenants(): Promise<string[]>;
  /** Whether the plugin is on: in the tenant (its global switch included), or globally for `null`. */
  isEnabled(pluginId: string, tenantId: string | null): boolean | Promise<boolean>;
  /** Runs one tenant's job with that tenant in scope (log lines, events). @default runs it as is */
  inScope?(tenantId: string, run: () => Promise<void>): Promise<void>;
  /**
   * Of `tenantIds`, those where every migration of the plugin has run (migration-readiness.ts
   * answers it from the ledger); jobs skip the others until then, quietly. @default every tenant
   */
  migratedTenants?(pluginId: string, tenantIds: string[]): Promise<ReadonlySet<string>>;
  /** The connection that holds the run locks and claims, one of its own outside the pool. Without it, none is taken (one process only). */
  locks?: RunLocksOptions;
  /** Timers that don't keep the process alive (a foundation's HTTP server does). @default false */
  unref?: boolean;
}

/** pino-style `(fields, message)`. */
export type CronLogger = Record<'warn' | 'error', (fields: Record<string, unknown>, msg: string) => void>;

export interface CronScheduler {
  forPlugin(pluginId: string): CronCapability;
  /** Starts every registered job's schedule (and those registered later). */
  start(): void;
  /** Runs every registered job once now, in each enabled and migrated tenant, in order, without lock or claim (tests, manual runs). */
  runAll(): Promise<void>;
  /** Stops the schedules, waits (a few seconds at most) for runs under way, and lets the locks go (a run still under way keeps its claim until it ends). */
  stop(): Promise<void>;
}

/** Five fields, six with seconds, or a nickname (`@hourly`): croner would also take a date, a one-off run that is no schedule. */
const SPEC = /^(@[a-z]+|\S+(\s+\S+){4,5})$/;
const MAX_SPEC_LENGTH = 200;
/** How long `stop` waits for runs under way before it lets the pool close under them. */
const STOP_GRACE_MS = 5_000;

interface Entry {
  pluginId: string;
  spec: string;
  job: CronJob;
  /** Names the job across processes: the same code registers its jobs in the same order. */
  lockKey: number;
  name: JobName;
  cron?: Cron;
}

export function createCronScheduler(logger: CronLogger, host?: CronHost): CronScheduler {
  const entries: Entry[] = [];
  const running = new Set<Promise<void>>();
  /** `plugin\0tenant` of tenants skipped for pending migrations, said once until they are migrated. */
  const waiting = new Set<string>();
  let locks: RunLocks | undefined;
  let started = false;

  function needHost(): CronHost {
    if (!host) throw new Error('This cron scheduler was made without tenancy and enablement: it registers jobs but can\'t run them.');
    return host;
  }

  /** Whether the tenant's migrations of the plugin have all run; a tenant found waiting is said once (warn), not at every tick. */
  function migrated(pluginId: string, tenantId: string, ready: ReadonlySet<string> | undefined): boolean {
    const key = `${pluginId}\0${tenantId}`;
    if (!ready || ready.has(tenantId)) {
      waiting.delete(key);
      return true;
    }
    if (!waiting.has(key)) {
      waiting.add(key);
      logger.warn({ pluginId, tenantId }, 'cron jobs of this plugin wait in this tenant until its migrations there have run (foundation-module migrate up)');
    }
    return false;
  }

  async function runInTenants(entry: Entry, scheduledAt: Date, claim: RunLocks['claim'] | undefined): Promise<void> {
    const host = needHost();
    let tenantIds;
    let ready;
    try {
      if (!(await host.isEnabled(entry.pluginId, null))) return;
      tenantIds = await host.listTenants();
      ready = await host.migratedTenants?.(entry.pluginId, tenantIds);
    } catch (error) {
      logger.error({ err: error, pluginId: entry.pluginId, cron: entry.spec }, 'cron tick skipped: the tenants or their migrations could not be read');
      return;
    }
    const inScope = host.inScope ?? ((_tenantId: string, run: () => Promise<void>) => run());
    for (const tenantId of tenantIds) {
      await inScope(tenantId, async () => {
        try {
          if (!(await host.isEnabled(entry.pluginId, tenantId))) return;
          if (!migrated(entry.pluginId, tenantId, ready)) return;
          // Claimed for as long as it runs: no other process starts it here meanwhile, nor this tick again.
          const lease = claim ? await claim(entry.name, tenantId, scheduledAt) : undefined;
          if (claim && !lease) return;
          try {
            await entry.job({ tenantId, scheduledAt });
          } finally {
            await lease?.release();
          }
        } catch (error) {
          logger.error({ err: error, pluginId: entry.pluginId, tenantId, cron: entry.spec }, 'cron job failed');
        }
      });
    }
  }

  async function tick(entry: Entry, scheduledAt: Date): Promise<void> {
    try {
      // The locks of this tick's start: stopped meanwhile, they claim nothing, and the tick runs nowhere.
      const current = locks;
      if (current && !(await current.holds(entry.lockKey))) return; // another process runs this job
      await runInTenants(entry, scheduledAt, current?.claim);
    } catch (error) {
      logger.error({ err: error, pluginId: entry.pluginId, cron: entry.spec }, 'cron tick failed');
    }
  }

  function schedule(entry: Entry): void {
    entry.cron = new Cron(entry.spec, { protect: true, unref: host?.unref === true }, (self: Cron) => {
      // croner hands over the time it fired (a few ms late), not the time it was due: the latest due time since is the tick's.
      const now = Date.now();
      const run = tick(entry, self.previousRuns(1, new Date(now + 1))[0] ?? new Date(now));
      running.add(run);
      return run.finally(() => running.delete(run));
    });
  }

  return {
    forPlugin(pluginId) {
      let registered = 0;
      return {
        register(spec, job) {
          const problem = specProblem(spec);
          if (problem) throw new Error(`Plugin "${pluginId}" registered cron spec ${JSON.stringify(spec)}, which is invalid: ${problem}`);
          if (typeof job !== 'function') throw new TypeError(`Plugin "${pluginId}" registered cron spec "${spec}" with a job that is not a function.`);
          const index = registered++;
          const entry: Entry = { pluginId, spec, job, lockKey: jobLockKey(pluginId, index, spec), name: { pluginId, job: `${index} ${spec}` } };
          entries.push(entry);
          if (started) schedule(entry);
        },
      };
    },
    start() {
      const { locks: lockOptions } = needHost();
      if (started) return;
      started = true;
      if (lockOptions) locks = createRunLocks(lockOptions, logger);
      entries.forEach(schedule);
    },
    async runAll() {
      for (const entry of entries) await runInTenants(entry, new Date(), undefined);
    },
    async stop() {
      started = false;
      for (const entry of entries) entry.cron?.stop();
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise((resolve) => (timer = setTimeout(resolve, STOP_GRACE_MS)));
      await Promise.race([Promise.allSettled([...running]), grace]);
      clearTimeout(timer);
      await locks?.close();
      locks = undefined;
    },
  };
}

function specProblem(spec: unknown): string | undefined {
  if (typeof spec !== 'string') return 'a spec is a string such as "*/5 * * * *"';
  if (spec.length > MAX_SPEC_LENGTH || !SPEC.test(spec.trim())) {
    return 'write five fields ("*/5 * * * *"), six with seconds first ("*/10 * * * * *"), or a nickname ("@hourly")';
  }
  try {
    new Cron(spec); // no function: parsed and checked, nothing scheduled
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
