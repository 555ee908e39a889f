package io.berth.cri;

import io.berth.cri.Rpc.Level;
import io.berth.cri.api.ImageFsInfoRequest;
import io.berth.cri.api.ImageFsInfoResponse;
import io.berth.cri.api.ImageServiceGrpc;
import io.berth.cri.api.ImageStatusRequest;
import io.berth.cri.api.ImageStatusResponse;
import io.berth.cri.api.ListImagesRequest;
import io.berth.cri.api.ListImagesResponse;
import io.berth.cri.api.PullImageRequest;
import io.berth.cri.api.PullImageResponse;
import io.berth.cri.api.RemoveImageRequest;
import io.berth.cri.api.RemoveImageResponse;
import io.grpc.stub.StreamObserver;

/** CRI v1 ImageService: delegates each call to {@link ImageHandlers} through {@link Rpc}. */
final class CriImageService extends ImageServiceGrpc.ImageServiceImplBase {
  private final Rpc rpc;
  private final ImageHandlers h;

  CriImageService(Rpc rpc, ImageHandlers handlers) {
    this.rpc = rpc;
    this.h = handlers;
  }

  @Override
  public void listImages(ListImagesRequest req, StreamObserver<ListImagesResponse> out) {
    rpc.unary("ListImages", Level.TRACE, req, out, null, () -> h.list(req));
  }

  @Override
  public void imageStatus(ImageStatusRequest req, StreamObserver<ImageStatusResponse> out) {
    rpc.unary("ImageStatus", Level.TRACE, req, out, r -> r.getImage().getImage(), () -> h.status(req));
  }

  @Override
  public void pullImage(PullImageRequest req, StreamObserver<PullImageResponse> out) {
    rpc.unary("PullImage", Level.INFO, req, out, r -> r.getImage().getImage(), () -> h.pull(req));
  }

  @Override
  public void removeImage(RemoveImageRequest req, StreamObserver<RemoveImageResponse> out) {
    rpc.unary("RemoveImage", Level.INFO, req, out, r -> r.getImage().getImage(), () -> h.remove(req));
  }

  @Override
  public void imageFsInfo(ImageFsInfoRequest req, StreamObserver<ImageFsInfoResponse> out) {
    rpc.unary("ImageFsInfo", Level.TRACE, req, out, null, h::fsInfo);
  }
}
