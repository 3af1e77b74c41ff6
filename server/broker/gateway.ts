/**
 * What the rest of StoreTwin needs of MQTT, whoever the broker is: the embedded aedes broker
 * (broker.ts) or an external one StoreTwin is a client of (external/client.ts). The
 * composition root (app.ts) builds one of them and everything else speaks to this interface.
 */
export interface MqttGateway {
  /** `embedded` serves devices itself; `external` is a client of STORETWIN_MQTT_URL. */
  readonly kind: 'embedded' | 'external';
  /** Ready to receive uplinks and publish. Throws a StoreTwinError when it cannot be. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Publishes from the server itself (alarm feed, commands); QoS 1, not retained. */
  publish(topic: string, payload: Buffer): Promise<void>;
  /** Sends a command to a device on its cmd topic (QoS 1). */
  sendCommand(site: string, device: string, command: Record<string, unknown>): Promise<void>;
  /**
   * Whether the device is online as far as the broker can tell: connected to the embedded
   * broker; with an external one, what its last status message (or last will) said.
   */
  isConnected(deviceId: string): boolean;
}
