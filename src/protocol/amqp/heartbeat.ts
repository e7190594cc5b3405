import type { FrameOutput } from './output.js';

/** What the heartbeat needs from its connection. */
export interface HeartbeatHost {
  /** True while the connection is not reading its socket (flow control, an alarm). */
  readHeld(): boolean;
  /** Sends one heartbeat frame. */
  beat(): void;
  /** The peer has been silent for two heartbeat intervals. */
  missed(): void;
}

/** Timer ticks per heartbeat interval. */
const TICKS_PER_INTERVAL = 4;
/** Silent ticks after which the peer counts as gone: two whole intervals (spec 4.2.7). */
const SILENT_TICKS_LIMIT = 2 * TICKS_PER_INTERVAL;

/**
 * Heartbeats in both directions (AMQP 0-9-1 §4.2.7). The bookkeeping counts timer ticks,
 * never clock readings: a jumping clock (faketime, a suspended VM) or a stall of this process
 * then cannot make every peer look silent at once. Reads and writes set a flag; the tick
 * clears it.
 *
 * Sending: the timer ticks every quarter interval, and a tick that finds nothing written since
 * the one before sends a heartbeat, which itself counts as written for the next tick. An idle
 * connection so gets one every half interval, and after any write the next frame follows
 * within two ticks (half an interval). Ticking at half intervals instead lets a write just
 * after a tick hide the next tick, stretching the gap to a whole interval, which strict
 * clients treat as a missed heartbeat.
 */
export class Heartbeat {
  /** Set on each read (and when reading resumes), cleared by the tick. */
  readSinceTick = true;
  private silentTicks = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly output: FrameOutput;
  private readonly host: HeartbeatHost;

  constructor(output: FrameOutput, host: HeartbeatHost) {
    this.output = output;
    this.host = host;
  }

  /** Starts with the interval tune-ok named, in seconds; 0 turns heartbeats off. */
  start(seconds: number): void {
    this.stop();
    if (seconds === 0) return;
    this.timer = setInterval(this.tick, (seconds * 1000) / TICKS_PER_INTERVAL);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private readonly tick = (): void => {
    // While we are not reading, the client's heartbeats wait in the socket: not its fault.
    if (this.readSinceTick || this.host.readHeld()) this.silentTicks = 0;
    else this.silentTicks++;
    this.readSinceTick = false;
    if (this.silentTicks >= SILENT_TICKS_LIMIT) {
      this.stop();
      this.host.missed();
      return;
    }
    // A heartbeat sent now sets the flag again, so an idle connection beats every other tick.
    if (this.output.wroteSinceTick) this.output.wroteSinceTick = false;
    else this.host.beat();
  };
}
