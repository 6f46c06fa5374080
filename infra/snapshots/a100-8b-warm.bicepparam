// Offline validation only: the 8B model (the GPU left to its default, which must be the A100) with one warm replica,
// re-provisioned after a deploy (the app exists, so its image is kept and the probes are on), in an environment that
// earlier ran on a T4 (its profile is kept), scaling out at 8 concurrent requests per replica.
using '../main.bicep'

param environmentName = 'funcrerank-ci'
param location = 'westus3'
param modelSize = '8B'
param minReplicas = 1
param maxReplicas = 2
param scaleConcurrentRequests = 8
param gpuProfiles = 'T4'
param apiExists = true
param functionMasterKey = 'ci-dummy-master-key'
param functionHostKey = 'ci-dummy-host-key'
