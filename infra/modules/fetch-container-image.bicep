// The image the app runs now, so that `azd provision` after `azd deploy` keeps it instead of going back to the
// placeholder (azd sets SERVICE_API_RESOURCE_EXISTS once the app exists).

@description('Whether the container app exists already.')
param exists bool

@description('Name of the container app.')
param name string

resource app 'Microsoft.App/containerApps@2026-07-01' existing = if (exists) {
  name: name
}

output image string = exists ? app!.properties.template!.containers![0].image! : ''
