#!/usr/bin/env bash
# The Bicep CLI the tests use, restored from NuGet (Azure.Bicep.CommandLine.linux-x64, a PackageDownload of
# tests/FuncRerank.Tests), so nothing is installed by hand:
#   infra/bicep.sh lint infra/main.bicep
#   infra/bicep.sh update-snapshots   # after a deliberate change to infra/: rewrites infra/snapshots/*.snapshot.json
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's:.*<BicepVersion>\(.*\)</BicepVersion>.*:\1:p' tests/FuncRerank.Tests/FuncRerank.Tests.csproj)
packages=$(dotnet nuget locals global-packages --list | sed 's/^global-packages: //')
bicep="${packages%/}/azure.bicep.commandline.linux-x64/$version/tools/bicep"
if [ ! -x "$bicep" ]; then
  dotnet restore tests/FuncRerank.Tests --verbosity quiet > /dev/null
fi

if [ "${1:-}" = update-snapshots ]; then
  for params in infra/snapshots/*.bicepparam; do
    location=$(sed -n "s/^param location = '\([a-z0-9]*\)'.*/\1/p" "$params")
    "$bicep" snapshot "$params" --mode overwrite --subscription-id 00000000-0000-0000-0000-000000000000 --location "$location"
    echo "wrote ${params%.bicepparam}.snapshot.json"
  done
  exit 0
fi
exec "$bicep" "$@"
