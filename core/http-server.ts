/** Starting and stopping a Node HTTP server, the same way everywhere. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SETTINGS, type SettingName, settingLabel } from './settings/index.js';
import { ListenError } from './errors.js';

/** The settings that chose a server's port and address, named in the error when it cannot listen. */
export interface ListenSettings {
  readonly port: SettingName;
  readonly host: SettingName;
}

/**
 * Listens on `host:port` (0: any free port); resolves with the bound address. Rejects on
 * EADDRINUSE and the like: with `settings`, as a {@link ListenError} that names the setting to change.
 */
export function listen(server: Server, port: number, host: string, settings?: ListenSettings): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const fail = (error: NodeJS.ErrnoException) => reject(settings ? listenError(error, port, host, settings) : error);
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      resolve(server.address() as AddressInfo);
    });
  });
}

function listenError(error: NodeJS.ErrnoException, port: number, host: string, settings: ListenSettings): Error {
  const name = (key: SettingName) => settingLabel(SETTINGS[key]);
  switch (error.code) {
    case 'EADDRINUSE':
      return new ListenError(`${name(settings.port)}: port ${port} on ${host} is already in use; stop what uses it or choose another port`, error.code);
    case 'EACCES':
      return new ListenError(`${name(settings.port)}: no permission to listen on port ${port} on ${host} (ports below 1024 need privileges); choose another port`, error.code);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ListenError(`${name(settings.host)}: cannot listen on ${host}, it is not an address of this machine (${error.code})`, error.code);
    default:
      return error;
  }
}

/** Stops listening and ends open connections (keep-alive, streams) instead of waiting for them. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
