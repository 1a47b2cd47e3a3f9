/** Which CRL shard a serial belongs to: fixed at issuance, since a certificate's CDP can never change. */
export function crlShardFor(serial: string, shards: number): number {
  return shards <= 1 ? 0 : parseInt(serial.slice(-8), 16) % shards;
}
