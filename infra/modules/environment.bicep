// The Container Apps environment: workload profiles (required for serverless GPUs) with a serverless GPU profile per
// GPU type, named by it (gpu-t4, gpu-a100, as Microsoft's Functions GPU guide names them), logs to Log Analytics
// through a diagnostic setting (no workspace key), and the model share registered read-only.

@description('Name of the environment.')
param name string

@description('Region of the environment (it must offer the GPU profile).')
param location string

@description('Tags for the environment.')
param tags object

@description('The GPU the app runs on: T4 or A100.')
@allowed([
  'T4'
  'A100'
])
param gpu string

@description('GPU types whose profiles an earlier provision added: kept, so that choosing another GPU adds a profile instead of changing one in place.')
param keptGpus array = []

@description('Resource id of the Log Analytics workspace that receives the environment\'s logs.')
param logAnalyticsWorkspaceId string

@description('Name of the storage account that holds the model share.')
param modelStorageAccountName string

@description('Name of the model share.')
param modelShareName string

@description('Name the app mounts the share by.')
param modelStorageName string = 'models'

var gpuProfileTypes = {
  T4: 'Consumption-GPU-NC8as-T4'
  A100: 'Consumption-GPU-NC24-A100'
}
var gpus = union(filter(keptGpus, kept => contains(gpuProfileTypes, kept)), [gpu])

resource environment 'Microsoft.App/managedEnvironments@2026-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    appLogsConfiguration: {
      destination: 'azure-monitor'
    }
    workloadProfiles: concat(
      [
        {
          name: 'Consumption'
          workloadProfileType: 'Consumption'
        }
      ],
      map(gpus, type => {
        name: 'gpu-${toLower(type)}'
        workloadProfileType: gpuProfileTypes[type]
      })
    )
    zoneRedundant: false
  }
}

// 2021-05-01-preview is the newest version of diagnostic settings and the first with categoryGroup; the linter's
// suggestion (2016-09-01) predates category groups.
#disable-next-line use-recent-api-versions
resource logs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'logs-to-workspace'
  scope: environment
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
  }
}

resource modelStorage 'Microsoft.Storage/storageAccounts@2025-08-01' existing = {
  name: modelStorageAccountName
}

// SMB mounts authenticate with the account key: it is read here, at deployment, and handed to the environment only.
resource modelShare 'Microsoft.App/managedEnvironments/storages@2026-07-01' = {
  parent: environment
  name: modelStorageName
  properties: {
    azureFile: {
      accountName: modelStorage.name
      accountKey: modelStorage.listKeys().keys[0].value
      shareName: modelShareName
      accessMode: 'ReadOnly'
    }
  }
}

output id string = environment.id
output name string = environment.name
output gpuProfileName string = 'gpu-${toLower(gpu)}'
@description('Every GPU type the environment has a profile for, for the next provision to keep.')
output gpus array = gpus
output modelStorageName string = modelShare.name
