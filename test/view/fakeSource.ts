/** A StatusSource and ViewActions the test drives by hand, standing in for the control socket. */

import type {
  InviteResult,
  PingResult,
  SourceState,
  StatusSource,
  ViewActions,
} from '../../cli/view/source.js';
import type { NodeStatus } from '../../core/node/status.js';

export class FakeSource implements StatusSource {
  private onStatus: ((s: NodeStatus) => void) | null = null;
  private onState: ((state: SourceState, detail?: string) => void) | null = null;
  unsubscribed = 0;

  subscribe(onStatus: (s: NodeStatus) => void, onState: (state: SourceState, detail?: string) => void) {
    this.onStatus = onStatus;
    this.onState = onState;
    return () => {
      this.unsubscribed++;
      this.onStatus = null;
      this.onState = null;
    };
  }

  emit(s: NodeStatus): void {
    if (!this.onStatus) throw new Error('the view has not subscribed');
    this.onStatus(s);
  }

  state(state: SourceState, detail?: string): void {
    if (!this.onState) throw new Error('the view has not subscribed');
    this.onState(state, detail);
  }
}

export class FakeActions implements ViewActions {
  invites = 0;
  pinged: string[] = [];
  constructor(
    private readonly invite: InviteResult = {
      code: 'ovl1-7kq2-m9xd-43fa',
      expires: '2025-01-15T13:00:00.000Z',
      qr: '█▀▀▀█ ▄▀ █▀▀▀█\n█ █ █ ▀▄ █ █ █\n▀▀▀▀▀ ▀ ▀ ▀▀▀▀▀\n',
    },
    private readonly pong: PingResult | Error = { rttMs: 11.6, path: 'direct' },
  ) {}

  async createInvite(): Promise<InviteResult> {
    this.invites++;
    return this.invite;
  }

  async ping(name: string): Promise<PingResult> {
    this.pinged.push(name);
    if (this.pong instanceof Error) throw this.pong;
    return this.pong;
  }
}
