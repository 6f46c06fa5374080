// Offline validation only (tests/FuncRerank.Tests/Infra): the first `azd up` of the default choice, 0.6B on a T4,
// scaling to zero, before the app exists. azd itself uses infra/main.parameters.json. The keys are dummies.
using '../main.bicep'

param environmentName = 'funcrerank-ci'
param location = 'swedencentral'
param functionMasterKey = 'ci-dummy-master-key'
param functionHostKey = 'ci-dummy-host-key'
