package io.berth.registry;

import io.berth.core.ImageRef;
import java.util.Optional;

/**
 * One operation's context at one endpoint: the image, where, the actions it needs ({@code pull} or
 * {@code pull,push}) and the credentials chosen for it. Error messages name {@link #what()}.
 */
record Session(ImageRef ref, Endpoint endpoint, String actions, Optional<Credentials> credentials) {
  String scope() {
    return "repository:" + ref.repository() + ":" + actions;
  }

  /** {@code image <ref> at <endpoint>}, for error messages. */
  String where() {
    return "image " + ref + " at " + endpoint;
  }
}
