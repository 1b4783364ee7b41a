import { Command, CommanderError } from 'commander';
import { endedMessage } from '../lifecycle';
import { listQuery, RUN_STATUSES } from '../control';
import { addControlCommands } from './control';

/** Parses `retain <args>` with the control commands; resolves with the error commander refused it with (before any action runs). */
async function refusal(args: string[]): Promise<CommanderError> {
  const program = new Command('retain').exitOverride().configureOutput({ writeErr: () => undefined });
  addControlCommands(program);
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (err) {
    expect(err).toBeInstanceOf(CommanderError);
    return err as CommanderError;
  }
  throw new Error(`expected \`retain ${args.join(' ')}\` to be refused`);
}

describe('control commands refuse bad input before contacting a server', () => {
  it('ls --status takes only the statuses a run has, and names them', async () => {
    expect(RUN_STATUSES).toEqual(['running', 'paused', 'completed', 'failed', 'cancelled']);
    expect((await refusal(['ls', '--status', 'weird'])).message).toMatch(
      /'weird' is invalid\. Allowed choices are running, paused, completed, failed, cancelled/,
    );
  });

  it('ls --spec/--method/--quantizer refuse what no name can be (quotes, backslashes)', async () => {
    expect((await refusal(['ls', '--spec', 'a\\'])).message).toMatch(/--spec 'a\\' matches no run: names and ids are letters, digits/);
    expect((await refusal(['ls', '--quantizer', "x' OR '1'='1"])).message).toMatch(/--quantizer/);
  });

  it.each(['pause', 'unpause', 'cancel', 'status'])('%s refuses an unsafe or empty run id', async (command) => {
    expect((await refusal([command, '../x'])).message).toMatch(/'\.\.\/x' is not a run id/);
    expect((await refusal([command, ''])).message).toMatch(/run id is empty/);
  });
});

describe('the visibility query', () => {
  it('escapes backslashes and quotes in a filter value', () => {
    expect(listQuery({ spec: "a\\'b" })).toBe(
      "WorkflowType IN ('experimentWorkflow', 'sweepWorkflow') AND ExecutionStatus != 'ContinuedAsNew' AND RetainSpec = 'a\\\\\\'b'",
    );
  });
});

describe('a run that has ended', () => {
  it('says how it ended, that there is nothing to do, and where to go instead', () => {
    expect(endedMessage('r1', 'COMPLETED', 'cancel')).toBe(
      'run r1 already completed; nothing to cancel (`retain result r1` shows its results)',
    );
    expect(endedMessage('r1', 'TIMED_OUT', 'pause')).toBe(
      'run r1 already timed out; nothing to pause (`retain resume r1` starts a run that continues it)',
    );
  });
});
