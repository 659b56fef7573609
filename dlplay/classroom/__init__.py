"""The class: assignments a teacher sets (`assignments`), each learner's standing on one (`standing`), the
hand-in bundle and its check (`handin`), and the teacher's view of the class (`classview`)."""
