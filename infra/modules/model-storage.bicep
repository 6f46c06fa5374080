// The model's own storage account: an Azure Files share that the environment mounts read-only into the app.
// Container Apps mounts SMB shares with the account key (managed identity is not supported for SMB mounts), so this
// account is kept apart from everything else and holds nothing but models; its key never leaves the deployment.

@description('Name of the storage account (3-24 lowercase letters and digits).')
param name string

@description('Region of the account.')
param location string

@description('Tags for the account.')
param tags object

@description('Name of the file share that holds the built models.')
param shareName string

@description('Provisioned size of the share in GiB (Premium shares start at 100 GiB; read throughput grows with it).')
@minValue(100)
param shareQuotaGiB int

resource storage 'Microsoft.Storage/storageAccounts@2025-08-01' = {
  name: name
  location: location
  tags: tags
  kind: 'FileStorage'
  sku: {
    name: 'Premium_LRS'
  }
  properties: {
    allowSharedKeyAccess: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }
}

resource files 'Microsoft.Storage/storageAccounts/fileServices@2025-08-01' = {
  parent: storage
  name: 'default'
}

resource share 'Microsoft.Storage/storageAccounts/fileServices/shares@2025-08-01' = {
  parent: files
  name: shareName
  properties: {
    enabledProtocols: 'SMB'
    shareQuota: shareQuotaGiB
  }
}

output name string = storage.name
output shareName string = share.name
