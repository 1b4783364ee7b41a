export {
  TEMPORAL_CLI_VERSION,
  installTemporalCli,
  pinnedCliDir,
  pinnedCliPath,
  pipInstallCommand,
  resolveTemporalCli,
  temporalCliVersion,
} from './temporal-cli';
export type { ResolveTemporalCliOptions, ResolvedTemporalCli, TemporalCliSource } from './temporal-cli';
export { stateDir } from './paths';
export { PortInUseError, startDevServer, stopEmbeddedServer } from './dev-server';
export type { DevServer, DevServerOptions } from './dev-server';
export { ensureTemporal } from './ensure';
export { ConnectionSettingsError, configFilePath, describeConnection, loadConnectionSettings } from './connection-settings';
export type { ConnectionSettings, TemporalConnectOptions, TlsSettings } from './connection-settings';
export { checkTlsEndpoint, explainRpcError, explainTlsError } from './tls-check';
export { ensureSearchAttributes, searchAttributeFlags } from './search-attributes';
export type { SearchAttributeType } from './search-attributes';
export { freePort } from './ports';
export { probeTemporal } from './probe';
export type { ProbeResult } from './probe';
export { readServerRecord } from './server-record';
export type { ServerRecord } from './server-record';
export {
  SEAWEEDFS_MODULE,
  SEAWEEDFS_RELEASE,
  SEAWEEDFS_VERSION,
  installWeed,
  pinnedWeedDir,
  pinnedWeedPath,
  resolveWeed,
  startS3Server,
  weedInstallCommand,
  weedVersion,
} from './seaweedfs';
export type { S3Server, S3ServerOptions } from './seaweedfs';
export {
  CUDA_LIBRARY_WHEELS,
  CUDA_SETUP_COMMAND,
  ORT_CUDA_RELEASE,
  PROVIDER_FILES,
  cudaProviderDir,
  resolveCudaProvider,
  wireCudaProvider,
} from './cuda-provider';
export type { CudaLibraries, CudaProviderInstall, CudaProviderOptions } from './cuda-provider';
