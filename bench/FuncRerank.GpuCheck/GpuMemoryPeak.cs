using FuncRerank.Inference;

namespace FuncRerank.GpuCheck;

/// <summary>
/// The GPU memory in use at its highest while a stretch of work runs: device-wide (CUDA context, weights, ONNX Runtime's
/// arena), sampled every millisecond from another thread. The arena keeps what it grew to, so short peaks are not missed.
/// </summary>
internal sealed class GpuMemoryPeak : IDisposable
{
    private readonly Thread _thread;
    private readonly int _device;
    private volatile bool _stop;
    private long _peakUsed;

    public GpuMemoryPeak(int device)
    {
        _device = device;
        _thread = new Thread(Sample) { IsBackground = true, Name = "gpu-memory-peak" };
        _thread.Start();
    }

    public long PeakUsedBytes => Interlocked.Read(ref _peakUsed);

    private void Sample()
    {
        while (!_stop)
        {
            if (CudaRuntime.Memory(_device) is { } memory)
                InterlockedMax(memory.TotalBytes - memory.FreeBytes);
            Thread.Sleep(1);
        }
    }

    private void InterlockedMax(long used)
    {
        long seen;
        while (used > (seen = Interlocked.Read(ref _peakUsed)) && Interlocked.CompareExchange(ref _peakUsed, used, seen) != seen)
        {
        }
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
        if (CudaRuntime.Memory(_device) is { } memory)
            InterlockedMax(memory.TotalBytes - memory.FreeBytes);
    }
}
