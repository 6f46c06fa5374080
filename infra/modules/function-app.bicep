// FuncRerank as a native Azure Functions app on Azure Container Apps (kind functionapp) on a serverless GPU.
// The model comes from the read-only Azure Files mount; the function keys come from Container Apps secrets mounted
// where the Functions host (AzureWebJobsSecretStorageType=containerapp) and FuncRerank read them.

@description('Name of the container app (2-32 lowercase letters, digits and hyphens).')
param name string

@description('Region of the app.')
param location string

@description('Tags for the app; azd finds the app by its azd-service-name tag.')
param tags object

@description('Resource id of the Container Apps environment.')
param environmentId string

@description('Name of the environment\'s GPU workload profile.')
param gpuProfileName string

@description('T4 or A100: sizes the container to the whole profile (T4: 8 vCPU / 56 GiB, A100: 24 vCPU / 220 GiB).')
@allowed([
  'T4'
  'A100'
])
param gpu string

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of that identity.')
param identityClientId string

@description('Login server of the registry the image is pulled from with the identity.')
param registryServer string

@description('The image to run.')
param image string

@description('Whether image is the placeholder of the first provision (it has no /health; probes wait for the real image).')
param placeholderImage bool

@description('Replicas kept running when idle: 0 scales to zero (cold starts), 1 keeps one GPU warm (billed continuously).')
@minValue(0)
param minReplicas int

@description('Most replicas under load; each holds one GPU and its own copy of the model.')
@minValue(1)
param maxReplicas int

@description('Concurrent requests per replica above which Container Apps adds a replica (the HTTP scale rule).')
@minValue(1)
param scaleConcurrentRequests int

@description('Name of the AzureWebJobsStorage account (identity-based connection).')
param hostStorageAccountName string

@description('Application Insights connection string (not a secret: ingestion needs the identity, local auth is off).')
param appInsightsConnectionString string

@description('Name of the environment storage that holds the model share.')
param modelStorageName string

@description('Directory on the share that holds the built model (reranker.json, model.onnx, model.onnx_data, tokenizer.json).')
param modelDirectory string

@description('The model name replies carry.')
param servedModelName string

@description('Refuse to serve (503 with the reason in /health) when the CUDA provider does not load, instead of a slow CPU fallback.')
param requireCuda bool

@secure()
@description('The Functions host master key (admin API); stored as the Container Apps secret host-master.')
param functionMasterKey string

@secure()
@description('The Functions host key callers send; stored as the Container Apps secret host-function-default.')
param functionHostKey string

// Where the share is mounted; Reranker:ModelPath points inside it.
var modelRoot = '/models'
// Where the Functions host (secret storage type containerapp) and FuncRerank's key check read the keys.
var keyDirectory = '/run/secrets/functions-keys'
var sizes = {
  T4: {
    cpu: 8
    memory: '56Gi'
  }
  A100: {
    cpu: 24
    memory: '220Gi'
  }
}
var port = 80

// The Functions host listens at once, then the worker loads the model in the background: /health answers 503 until
// the model is warm. So the startup probe only waits for the port (a slow model never gets the replica killed), and
// the readiness probe holds traffic until /health says ready, however long a 16 GB model takes to read from the share.
var probes = [
  {
    type: 'Startup'
    tcpSocket: {
      port: port
    }
    initialDelaySeconds: 5
    periodSeconds: 10
    timeoutSeconds: 5
    failureThreshold: 10
  }
  {
    type: 'Readiness'
    httpGet: {
      path: '/health'
      port: port
      scheme: 'HTTP'
    }
    initialDelaySeconds: 10
    periodSeconds: 5
    timeoutSeconds: 5
    failureThreshold: 3
    successThreshold: 1
  }
]

resource app 'Microsoft.App/containerApps@2026-07-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    environmentId: environmentId
    workloadProfileName: gpuProfileName
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: {
        external: true
        targetPort: port
        transport: 'auto'
        allowInsecure: false
      }
      registries: [
        {
          server: registryServer
          identity: identityId
        }
      ]
      secrets: [
        {
          name: 'host-master'
          value: functionMasterKey
        }
        {
          name: 'host-function-default'
          value: functionHostKey
        }
      ]
    }
    template: {
      containers: [
        {
          name: 'funcrerank'
          image: image
          resources: {
            cpu: sizes[gpu].cpu
            memory: sizes[gpu].memory
          }
          env: [
            { name: 'FUNCTIONS_WORKER_RUNTIME', value: 'dotnet-isolated' }
            { name: 'AzureWebJobsStorage__accountName', value: hostStorageAccountName }
            { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
            { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
            { name: 'AzureWebJobsSecretStorageType', value: 'containerapp' }
            { name: 'AZURE_CLIENT_ID', value: identityClientId }
            { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsightsConnectionString }
            { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identityClientId};Authorization=AAD' }
            { name: 'Reranker__ModelPath', value: '${modelRoot}/${modelDirectory}' }
            { name: 'Reranker__ServedModelName', value: servedModelName }
            { name: 'Reranker__Device', value: 'cuda' }
            { name: 'Reranker__Dtype', value: 'fp16' }
            { name: 'Reranker__RequireCuda', value: requireCuda ? 'true' : 'false' }
            { name: 'Reranker__FunctionsKeyDirectory', value: keyDirectory }
            { name: 'Reranker__ApiKeys', secretRef: 'host-function-default' }
          ]
          volumeMounts: [
            {
              volumeName: 'models'
              mountPath: modelRoot
            }
            {
              volumeName: 'functions-keys'
              mountPath: keyDirectory
            }
          ]
          probes: placeholderImage ? [] : probes
        }
      ]
      // Functions on Container Apps would derive a rule from the HTTP trigger, tuned for functions that run one request
      // per instance; a FuncRerank replica batches every waiting request onto its one GPU, so the rule is set here
      // (docs/deploy.md, "Scale-out"), which needs allowScalingRuleOverride.
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
        allowScalingRuleOverride: true
        rules: [
          {
            name: 'concurrent-requests'
            http: {
              metadata: {
                concurrentRequests: string(scaleConcurrentRequests)
              }
            }
          }
        ]
      }
      volumes: [
        {
          name: 'models'
          storageType: 'AzureFile'
          storageName: modelStorageName
          mountOptions: 'dir_mode=0555,file_mode=0444'
        }
        {
          name: 'functions-keys'
          storageType: 'Secret'
          secrets: [
            {
              secretRef: 'host-master'
              path: 'host.master'
            }
            {
              secretRef: 'host-function-default'
              path: 'host.function.default'
            }
          ]
        }
      ]
    }
  }
}

output name string = app.name
output uri string = 'https://${app.properties.configuration!.ingress!.fqdn}'
