# FuncRerank as an Azure Functions (.NET 10 isolated worker) container with ONNX Runtime's CUDA 13 provider.
# Built remotely in Azure Container Registry by `azd up` (azure.yaml: docker.remoteBuild), so no local Docker is needed;
# `docker build .` works the same where a Docker engine exists. The model is not in the image: it is read from the
# Azure Files share mounted at Reranker__ModelPath (see infra/).

# ---- build: publish the function app for linux-x64, so only ONNX Runtime's Linux natives are copied ----------------
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props host.json ./
COPY src/ src/
RUN dotnet publish src/FuncRerank.Functions/FuncRerank.Functions.csproj -c Release -r linux-x64 --self-contained false \
      -p:UseAppHost=false -o /home/site/wwwroot \
 # The TensorRT provider is never asked for and would need TensorRT, which the image does not carry.
 && rm -f /home/site/wwwroot/libonnxruntime_providers_tensorrt.so \
 && test -f /home/site/wwwroot/libonnxruntime_providers_cuda.so \
 && test -f /home/site/wwwroot/functions.metadata \
 && if ls /home/site/wwwroot | grep -E '^onnxruntime.*\.dll$'; then echo "Windows natives in a Linux image" >&2; exit 1; fi

# ---- runtime: the Functions host + .NET 10, plus the CUDA 13 user-space libraries ONNX Runtime 1.31 loads ------------
FROM mcr.microsoft.com/azure-functions/dotnet-isolated:4-dotnet-isolated10.0

# The packages (NVIDIA's apt repository) and the libraries they must provide. docker/cuda-libraries.tsv says why each
# is there; tests/FuncRerank.Tests/Infra/ContainerImageTests.cs checks both lists against it and against the
# DT_NEEDED / dlopen names of the restored ONNX Runtime libraries. The driver (libcuda.so.1) comes from the GPU host;
# cuda-compat-13-0 is the forward-compatible copy that docker/cuda-env.sh uses only under a pre-R580 driver.
ARG CUDA_PACKAGES="cuda-cudart-13-0 libcublas-13-0 libcurand-13-0 libcufft-13-0 cuda-nvrtc-13-0 libcudnn9-cuda-13 cuda-compat-13-0"
ARG CUDA_LIBRARIES="libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcurand.so.10 libcufft.so.12 libnvrtc.so.13 libcudnn.so.9"

RUN set -eu; \
    export DEBIAN_FRONTEND=noninteractive; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates curl; \
    # NVIDIA's repository for this image's OS (ubuntu2404 or debian12).
    . /etc/os-release; repo="$(echo "${ID}${VERSION_ID}" | tr -d .)"; \
    echo "base image: ${PRETTY_NAME}; NVIDIA repository ${repo}"; \
    curl -fsSL "https://developer.download.nvidia.com/compute/cuda/repos/${repo}/x86_64/cuda-keyring_1.1-1_all.deb" -o /tmp/cuda-keyring.deb; \
    dpkg -i /tmp/cuda-keyring.deb; rm /tmp/cuda-keyring.deb; \
    apt-get update; \
    # ICU: the tokenizer's NFC normalization needs it (the tokenizer refuses to load without it).
    icu="$(apt-cache pkgnames libicu | grep -E '^libicu[0-9]+(t64)?$' | sort -V | tail -n 1)"; \
    apt-get install -y --no-install-recommends ${CUDA_PACKAGES} "${icu}"; \
    rm -rf /var/lib/apt/lists/*; \
    echo /usr/local/cuda-13.0/targets/x86_64-linux/lib > /etc/ld.so.conf.d/funcrerank-cuda-13.conf; \
    ldconfig

ENV AzureWebJobsScriptRoot=/home/site/wwwroot \
    AzureFunctionsJobHost__Logging__Console__IsEnabled=true \
    DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=false \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    Reranker__Device=cuda \
    Reranker__Dtype=fp16

COPY --from=build /home/site/wwwroot /home/site/wwwroot
COPY docker/cuda-env.sh /opt/funcrerank/cuda-env.sh

# Fail the build, not the first cold start, when a library is missing: every CUDA library by name, every DT_NEEDED
# entry of the ONNX Runtime libraries but the driver (mounted at run time), and ICU.
RUN set -eu; \
    for lib in ${CUDA_LIBRARIES}; do \
      ldconfig -p | grep -q "^[[:space:]]${lib} " || { echo "missing ${lib}" >&2; exit 1; }; \
    done; \
    for so in /home/site/wwwroot/libonnxruntime*.so; do \
      if ldd "$so" | grep 'not found' | grep -v 'libcuda\.so\.1'; then echo "unresolved libraries of $so" >&2; exit 1; fi; \
    done; \
    ldconfig -p | grep -q 'libicuuc\.so\.[0-9]' || { echo "ICU is missing" >&2; exit 1; }; \
    test -f /usr/local/cuda-13.0/compat/libcuda.so.1; \
    chmod 0755 /opt/funcrerank/cuda-env.sh

ENTRYPOINT ["/opt/funcrerank/cuda-env.sh"]
CMD ["/opt/startup/start_nonappservice.sh"]
