// FuncRerank on a serverless GPU: `azd up` provisions this, builds the image in the registry, runs the hook that puts
// the model on the share (infra/hooks/upload-model.sh) and deploys. See README, "Deploy to Azure".
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; names and tags every resource.')
param environmentName string

@minLength(1)
@description('Region. Only regions that offer both serverless GPU profiles (T4 and A100) are listed; check the quota with `az containerapp env workload-profile list-supported -l <region>`.')
@allowed([
  'australiaeast'
  'brazilsouth'
  'canadacentral'
  'eastus'
  'italynorth'
  'swedencentral'
  'uksouth'
  'westus'
  'westus3'
])
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Which Qwen3-Reranker to serve. 0.6B and 4B fit a T4 in fp16; 8B (about 16 GB of fp16 weights) needs the A100.')
@allowed([
  '0.6B'
  '4B'
  '8B'
])
param modelSize string = '0.6B'

@description('Serverless GPU: T4 (16 GB) or A100 (80 GB). Empty picks A100 for 8B and T4 otherwise.')
@allowed([
  ''
  'T4'
  'A100'
])
param gpu string = ''

@description('GPU types the environment already has profiles for (azd keeps this output, RERANK_GPU_PROFILES, between provisions): switching the GPU adds a profile and keeps these.')
param gpuProfiles string = ''

@description('Replicas kept running when idle: 0 scales to zero (pay per second of use, cold starts), 1 or more keep GPUs warm (billed continuously).')
@minValue(0)
@maxValue(10)
param minReplicas int = 0

@description('Most replicas under load; each one holds a GPU of your quota.')
@minValue(1)
@maxValue(10)
param maxReplicas int = 1

@description('Concurrent requests per replica above which a replica is added. 28: one forward pass (Reranker:MaxBatchTokens 16,384 tokens) of requests of 585 tokens, the benchmark\'s small mix; more waiting only adds latency. Lower it for requests of many long documents.')
@minValue(1)
@maxValue(1000)
param scaleConcurrentRequests int = 28

@description('Provisioned size of the model share in GiB (Premium Azure Files: at least 100; throughput grows with size).')
@minValue(100)
@maxValue(102400)
param modelShareQuotaGiB int = 100

@description('Registry tier. Artifact streaming is not turned on at any tier: it is a per-repository setting that ARM (registries@2025-11-01) has no property for.')
@allowed([
  'Basic'
  'Standard'
  'Premium'
])
param registrySku string = 'Standard'

@description('Refuse to serve when the CUDA provider does not load (the reason shows in /health), instead of a slow CPU fallback.')
param requireCuda bool = true

@description('Whether the app exists already (azd sets SERVICE_API_RESOURCE_EXISTS); then its current image is kept.')
param apiExists bool = false

@secure()
@description('Functions master key; generated once by azd and kept in the azd environment. Never an output.')
@metadata({
  azd: {
    type: 'generate'
    config: {
      length: 48
      noSpecial: true
      minLower: 4
      minUpper: 4
      minNumeric: 4
    }
  }
})
param functionMasterKey string

@secure()
@description('Functions host key that callers send (Authorization: Bearer, x-api-key, x-functions-key or ?code=); generated once by azd. Never an output.')
@metadata({
  azd: {
    type: 'generate'
    config: {
      length: 48
      noSpecial: true
      minLower: 4
      minUpper: 4
      minNumeric: 4
    }
  }
})
param functionHostKey string

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var chosenGpu = gpu == 'A100' || (empty(gpu) && modelSize == '8B') ? 'A100' : 'T4'
var modelId = 'Qwen/Qwen3-Reranker-${modelSize}'
var modelDirectory = 'qwen3-reranker-${toLower(modelSize)}-fp16'
var appName = 'ca-rerank-${resourceToken}'
var placeholderImage = 'mcr.microsoft.com/k8se/quickstart-functions:latest'

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-rerank-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
    publisherPrincipalId: identity.outputs.principalId
  }
}

module registry 'modules/registry.bicep' = {
  name: 'registry'
  scope: rg
  params: {
    name: 'cr${resourceToken}'
    location: location
    tags: tags
    sku: registrySku
    pullerPrincipalId: identity.outputs.principalId
  }
}

module hostStorage 'modules/host-storage.bicep' = {
  name: 'host-storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    hostPrincipalId: identity.outputs.principalId
  }
}

module modelStorage 'modules/model-storage.bicep' = {
  name: 'model-storage'
  scope: rg
  params: {
    name: 'stmodel${resourceToken}'
    location: location
    tags: tags
    shareName: 'models'
    shareQuotaGiB: modelShareQuotaGiB
  }
}

module environment 'modules/environment.bicep' = {
  name: 'environment'
  scope: rg
  params: {
    name: 'cae-${resourceToken}'
    location: location
    tags: tags
    gpu: chosenGpu
    keptGpus: empty(gpuProfiles) ? [] : split(gpuProfiles, ',')
    logAnalyticsWorkspaceId: monitoring.outputs.workspaceId
    modelStorageAccountName: modelStorage.outputs.name
    modelShareName: modelStorage.outputs.shareName
  }
}

module currentImage 'modules/fetch-container-image.bicep' = {
  name: 'current-image'
  scope: rg
  params: {
    exists: apiExists
    name: appName
  }
}

module app 'modules/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  params: {
    name: appName
    location: location
    tags: tags
    environmentId: environment.outputs.id
    gpuProfileName: environment.outputs.gpuProfileName
    gpu: chosenGpu
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    registryServer: registry.outputs.loginServer
    image: apiExists ? currentImage.outputs.image : placeholderImage
    placeholderImage: !apiExists
    minReplicas: minReplicas
    maxReplicas: maxReplicas
    scaleConcurrentRequests: scaleConcurrentRequests
    hostStorageAccountName: hostStorage.outputs.name
    appInsightsConnectionString: monitoring.outputs.connectionString
    modelStorageName: environment.outputs.modelStorageName
    modelDirectory: modelDirectory
    servedModelName: modelId
    requireCuda: requireCuda
    functionMasterKey: functionMasterKey
    functionHostKey: functionHostKey
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = registry.outputs.loginServer
output SERVICE_API_NAME string = app.outputs.name
output SERVICE_API_URI string = app.outputs.uri
output RERANK_URL string = '${app.outputs.uri}/v1/rerank'
output RERANK_GPU string = chosenGpu
output RERANK_GPU_PROFILES string = join(environment.outputs.gpus, ',')
output RERANK_MODEL_ID string = modelId
output RERANK_MODEL_DIR string = modelDirectory
output MODEL_STORAGE_ACCOUNT string = modelStorage.outputs.name
output MODEL_SHARE_NAME string = modelStorage.outputs.shareName
@description('How to read the key callers send (the key itself is never an output).')
output RERANK_KEY_COMMAND string = 'az containerapp secret show --resource-group ${rg.name} --name ${app.outputs.name} --secret-name host-function-default --query value --output tsv'
