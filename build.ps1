#!/usr/bin/env pwsh
# Cdp build script. Run with PowerShell 7.6.9 as a local dotnet tool:
#   dotnet tool restore
#   dotnet pwsh ./build.ps1 <target> [-- extra args]
# Targets: build, test, run, bench, publish
param(
    [Parameter(Position = 0)]
    [ValidateSet('build', 'test', 'run', 'bench', 'publish')]
    [string]$Target = 'build',
    [string]$Configuration = '',
    [Parameter(ValueFromRemainingArguments = $true)]
    [string[]]$Rest = @()
)
$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot

function Invoke-Step([string]$what, [scriptblock]$block) {
    Write-Host "==> $what" -ForegroundColor Cyan
    & $block
    if ($LASTEXITCODE -ne 0) { throw "$what failed with exit code $LASTEXITCODE" }
}

function Install-NodeTestPackages {
    # The real SDKs the tests drive (Segment and RudderStack, node and browser, plus esbuild for the browser page),
    # pinned by Cdp.Tests/Node/package-lock.json. npm ci runs again whenever the lock file changed since the last
    # install (its hash is kept in node_modules), so a new or updated package is never missed.
    $lock = 'Cdp.Tests/Node/package-lock.json'
    $stamp = 'Cdp.Tests/Node/node_modules/.cdp-lock-sha256'
    $hash = (Get-FileHash -Algorithm SHA256 $lock).Hash
    if (-not (Test-Path $stamp) -or (Get-Content -Raw $stamp).Trim() -ne $hash) {
        Invoke-Step 'npm ci (Cdp.Tests/Node)' { npm ci --prefix Cdp.Tests/Node --no-audit --no-fund }
        Set-Content -NoNewline -Path $stamp -Value $hash
    }
}

switch ($Target) {
    'build' {
        $c = if ($Configuration) { $Configuration } else { 'Debug' }
        Invoke-Step "dotnet build ($c)" { dotnet build Cdp.sln -c $c }
    }
    'test' {
        $c = if ($Configuration) { $Configuration } else { 'Debug' }
        Install-NodeTestPackages
        Invoke-Step "dotnet test ($c)" { dotnet test Cdp.sln -c $c --logger 'console;verbosity=normal' @Rest }
    }
    'run' {
        $c = if ($Configuration) { $Configuration } else { 'Debug' }
        Invoke-Step 'dotnet run Cdp.Host' { dotnet run --project Cdp.Host -c $c -- @Rest }
    }
    'bench' {
        Invoke-Step 'benchmark (Release)' { dotnet run --project bench/Cdp.Bench -c Release -- --out bench/results.json @Rest }
    }
    'publish' {
        foreach ($rid in @('linux-x64', 'win-x64')) {
            Invoke-Step "publish single-file $rid" {
                dotnet publish Cdp.Host/Cdp.Host.csproj -c Release -r $rid --self-contained true `
                    -p:PublishSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=true `
                    -o "artifacts/publish/$rid"
            }
        }
        Write-Host "single-file executables in artifacts/publish/<rid>/ (Cdp.Host, Cdp.Host.exe) with appsettings.json beside them"
    }
}
