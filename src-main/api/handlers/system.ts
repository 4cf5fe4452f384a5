import { arch, cpus, platform, totalmem } from 'node:os';
import { systemCalls } from '../calls/system.ts';
import { APP_VERSION } from '../../version.ts';
import type { HandlersFor, Services } from './types.ts';

export function systemHandlers(s: Services): HandlersFor<typeof systemCalls> {
  return {
    'system.info': () => ({
      appVersion: APP_VERSION,
      host: s.host,
      platform: platform(),
      arch: arch(),
      versions: Object.fromEntries(
        Object.entries(process.versions).filter((e): e is [string, string] => typeof e[1] === 'string'),
      ),
      dataDir: s.dataDir,
      cpus: cpus().length,
      totalMemoryBytes: totalmem(),
    }),
    'system.ping': ({ message }) => {
      const at = Date.now();
      s.hub.emit('system.pong', { message, at });
      return { receivedAt: at };
    },
    'tasks.cancel': ({ taskId }) => ({ cancelled: s.tasks.cancel(taskId) }),
  };
}
