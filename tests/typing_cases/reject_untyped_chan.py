from gochan import Chan

a = Chan()  # E: Chan[?]: the element type must be given
