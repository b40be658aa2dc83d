/**
 * Scheduled plugin jobs on croner. Specs are checked when registered; jobs run only when the
 * scheduler is started (the dev server starts it, tests leave it off and call `runAll`), and an
 * overrunning job is not started twice.
 */
import { Cron } from 'croner';
import type { CronCapability } from '../contract.ts';
import type { Logger } from '../logger.ts';

type Job = (ctx: { tenantId?: string }) => Promise<void> | void;

export interface CronScheduler {
  forPlugin(pluginId: string): CronCapability;
  /** Starts every registered job's schedule. */
  start(): void;
  /** Runs every registered job once now, in order (for tests and manual runs). */
  runAll(): Promise<void>;
  stop(): void;
}

export function createCronScheduler(logger: Logger): CronScheduler {
  const jobs: { pluginId: string; spec: string; job: Job; cron: Cron }[] = [];

  async function run(pluginId: string, spec: string, job: Job): Promise<void> {
    try {
      await job({});
    } catch (error) {
      logger.error({ err: error, pluginId, cron: spec }, 'cron job failed');
    }
  }

  return {
    forPlugin(pluginId) {
      return {
        register(spec, job) {
          let cron: Cron;
          try {
            cron = new Cron(spec, { paused: true, protect: true }, () => run(pluginId, spec, job));
          } catch (error) {
            throw new Error(`Plugin "${pluginId}" registered cron spec ${JSON.stringify(spec)}, which is invalid: ${(error as Error).message}`);
          }
          jobs.push({ pluginId, spec, job, cron });
        },
      };
    },
    start: () => jobs.forEach(({ cron }) => cron.resume()),
    runAll: async () => {
      for (const { pluginId, spec, job } of jobs) await run(pluginId, spec, job);
    },
    stop: () => jobs.forEach(({ cron }) => cron.stop()),
  };
}
