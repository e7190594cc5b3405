// `baton serve` as a child process for the fault tests: test/helpers/broker-process.ts with the
// data dir as an argument (these tests own their dirs), under a wrapper such as `fiu-run -x`,
// with extra environment (BATON_TEST_*); a refused start is a result (exit code and output)
// rather than a rejection, because several tests expect one.
import { execFileSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  BrokerProcess as ChildBroker,
  startBrokerProcess,
  type BrokerProcessOptions,
} from '../helpers/broker-process.js';

export type { LogLine } from '../helpers/broker-process.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface LaunchOptions extends Omit<BrokerProcessOptions, 'dataDir'> {
  /** launch(): SIGKILL the broker if it is not ready after this long (default 60 s). */
  timeoutMs?: number;
}

export class BrokerProcess extends ChildBroker {
  constructor(t: TestContext, dataDir: string, o: LaunchOptions = {}) {
    super(t, { ...o, dataDir });
  }
}

/** Start a broker and wait until it is ready; throws with its output if it exits instead. */
export function launch(
  t: TestContext,
  dataDir: string,
  o: LaunchOptions = {},
): Promise<ChildBroker> {
  return startBrokerProcess(t, { ...o, dataDir });
}

/** Whether BATON_REQUIRE_ALL=1 (CI): a missing capability must fail, not skip. */
export const requireAll = process.env.BATON_REQUIRE_ALL === '1';

/**
 * Skip the test with "skipped: <reason>" when a capability is missing, or fail it under
 * BATON_REQUIRE_ALL=1. Returns true when the caller must return.
 */
export function missing(t: TestContext, reason: string | undefined): boolean {
  if (reason === undefined) return false;
  if (requireAll) throw new Error(`required capability missing (BATON_REQUIRE_ALL=1): ${reason}`);
  t.diagnostic(`skipped: ${reason}`);
  t.skip(`skipped: ${reason}`);
  return true;
}

let helpText: string | undefined;
/** Whether `baton serve` knows `flag` (flags other helpers add may not have landed yet). */
export function supportsFlag(flag: string): boolean {
  helpText ??= execFileSync(process.execPath, [cli, 'help'], { encoding: 'utf8' });
  return helpText.includes(flag);
}
