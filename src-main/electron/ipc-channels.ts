// Channel names shared by main and preload. Two channels only: calls and events.
export const IPC_CALL = 'layerlab:call';
export const IPC_EVENT = 'layerlab:event';
